/*
 * JSON values that tell the truth (jsonv.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

json_object *
jv_double(double v)
{
	char s[32];

	if (!isfinite(v))
		return NULL;
	/* The shortest of 15, 16, 17 significant digits that reads back. */
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(s, sizeof(s), "%.*g", digits, v);
		if (strtod(s, NULL) == v)
			break;
	}
	/* A whole number still reads as a double: 3.0, not 3. */
	if (strpbrk(s, ".eEn") == NULL && strlen(s) + 2 < sizeof(s))
		strcat(s, ".0");
	return json_object_new_double_s(v, s);
}

size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;		/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;		/* up to U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

size_t
utf8_sanitize(char *out, size_t cap, const char *in, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(p + i, n - i);
		const char *src = len > 0 ? in + i : repl;
		size_t w = len > 0 ? len : 3;

		if (o + w >= cap)
			break;
		memcpy(out + o, src, w);
		o += w;
		i += len > 0 ? len : 1;
	}
	out[o] = '\0';
	return o;
}

/* Whether n bytes at s are already well-formed UTF-8. */
static int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(p + i, n - i);

		if (len == 0)
			return 0;
		i += len;
	}
	return 1;
}

json_object *
jv_string_len(const char *s, size_t n)
{
	json_object *o;
	char *clean;
	size_t len;

	if (s == NULL)
		return NULL;
	if (utf8_valid(s, n))
		return json_object_new_string_len(s, (int)n);
	/* At most three bytes for each byte replaced. */
	if (n > ((size_t)1 << 28) || (clean = malloc(3 * n + 1)) == NULL)
		return json_object_new_string("\xef\xbf\xbd");
	len = utf8_sanitize(clean, 3 * n + 1, s, n);
	o = json_object_new_string_len(clean, (int)len);
	free(clean);
	return o;
}

json_object *
jv_string(const char *s)
{
	return s == NULL ? NULL : jv_string_len(s, strlen(s));
}
