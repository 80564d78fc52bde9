/*
 * JSON values: doubles read back exactly through json-c's own parser,
 * strings come out as well-formed UTF-8 (checked against the Unicode
 * table of well-formed byte sequences, not against jsonv's decoder).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonv.h"

/* Serialises v in an array and parses it back with json-c. */
static double
round_trip(double v, const char **text)
{
	static char buf[128];
	json_object *a = json_object_new_array(), *back;
	double got;

	json_object_array_add(a, jv_double(v));
	snprintf(buf, sizeof(buf), "%s", json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	*text = buf;
	back = json_tokener_parse(buf);
	got = json_object_get_double(json_object_array_get_idx(back, 0));
	json_object_put(back);
	return got;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_doubles(void)
{
	const char *text;
	int fails = 0;

	CHECK(round_trip(1234567.891, &text) == 1234567.891 &&
	    strcmp(text, "[1234567.891]") == 0, "1234567.891 exact: %s", text);
	CHECK(round_trip(0.1, &text) == 0.1 && strcmp(text, "[0.1]") == 0,
	    "0.1 short: %s", text);
	round_trip(3.0, &text);
	CHECK(strcmp(text, "[3.0]") == 0, "a whole double: %s", text);
	round_trip(1785000000.123456, &text);
	CHECK(strcmp(text, "[1785000000.123456]") == 0,
	    "a time in seconds keeps its microseconds: %s", text);
	round_trip(INFINITY, &text);
	CHECK(strcmp(text, "[null]") == 0, "infinity is null: %s", text);
	round_trip(-INFINITY, &text);
	CHECK(strcmp(text, "[null]") == 0, "-infinity is null: %s", text);
	round_trip(NAN, &text);
	CHECK(strcmp(text, "[null]") == 0, "NaN is null: %s", text);
	for (int i = 0; i < 100000; i++) {
		uint64_t bits = next_rand();
		double v, got;

		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		got = round_trip(v, &text);
		CHECK_QUIET(memcmp(&got, &v, sizeof(v)) == 0 || (v == 0 &&
		    got == 0), fails, "%a came back as %a (%s)", v, got, text);
	}
	CHECK(fails == 0, "100000 random doubles read back bit for bit");
}

/* Well-formed UTF-8 after Unicode table 3-7, written out independently. */
static int
well_formed(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char a = p[i];
		size_t left = n - i;

		if (a <= 0x7f) {
			i++;
		} else if (a >= 0xc2 && a <= 0xdf) {
			if (left < 2 || (p[i + 1] & 0xc0) != 0x80)
				return 0;
			i += 2;
		} else if (a >= 0xe0 && a <= 0xef) {
			unsigned char b;

			if (left < 3)
				return 0;
			b = p[i + 1];
			if ((a == 0xe0 && (b < 0xa0 || b > 0xbf)) ||
			    (a == 0xed && (b < 0x80 || b > 0x9f)) ||
			    (a != 0xe0 && a != 0xed && (b & 0xc0) != 0x80) ||
			    (p[i + 2] & 0xc0) != 0x80)
				return 0;
			i += 3;
		} else if (a >= 0xf0 && a <= 0xf4) {
			unsigned char b;

			if (left < 4)
				return 0;
			b = p[i + 1];
			if ((a == 0xf0 && (b < 0x90 || b > 0xbf)) ||
			    (a == 0xf4 && (b < 0x80 || b > 0x8f)) ||
			    (a != 0xf0 && a != 0xf4 && (b & 0xc0) != 0x80) ||
			    (p[i + 2] & 0xc0) != 0x80 ||
			    (p[i + 3] & 0xc0) != 0x80)
				return 0;
			i += 4;
		} else {
			return 0;
		}
	}
	return 1;
}

static const char *
string_of(const char *in, size_t n)
{
	static char buf[4096];
	json_object *o = jv_string_len(in, n);

	snprintf(buf, sizeof(buf), "%s", json_object_get_string(o));
	json_object_put(o);
	return buf;
}

static void
test_strings(void)
{
	static const struct {
		const char *in, *out, *what;
	} cases[] = {
		{ "plain", "plain", "ASCII as it is" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "well-formed UTF-8 as it is" },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b", "a stray byte" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "an overlong slash" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		  "a surrogate" },
		{ "\xf4\x90\x80\x80",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		  "beyond U+10FFFF" },
		{ "end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd",
		  "a sequence cut short" },
	};
	char out[8];
	int fails = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = string_of(cases[i].in, strlen(cases[i].in));

		CHECK(strcmp(got, cases[i].out) == 0, "%s", cases[i].what);
	}
	{
		json_object *o = jv_string_len("a\0b", 3);

		CHECK(json_object_get_string_len(o) == 3 &&
		    memcmp(json_object_get_string(o), "a\0b", 3) == 0,
		    "an embedded NUL stays inside the string");
		json_object_put(o);
	}
	CHECK(utf8_sanitize(out, sizeof(out), "\xe2\x82\xac\xe2\x82\xac\xe2"
	    "\x82\xac", 9) == 6 && strcmp(out, "\xe2\x82\xac\xe2\x82\xac") ==
	    0, "sanitize stops before a sequence that does not fit");
	CHECK(utf8_sanitize(out, 1, "abc", 3) == 0 && out[0] == '\0',
	    "sanitize into one byte: the empty string");
	for (int i = 0; i < 20000; i++) {
		unsigned char in[64];
		size_t n = next_rand() % sizeof(in);
		const char *got;

		for (size_t k = 0; k < n; k++)
			in[k] = (unsigned char)next_rand();
		got = string_of((const char *)in, n);
		CHECK_QUIET(well_formed((const unsigned char *)got,
		    strlen(got)), fails, "random bytes %d gave ill-formed "
		    "UTF-8", i);
		if (well_formed(in, n) && memchr(in, 0, n) == NULL)
			CHECK_QUIET(strlen(got) == n && memcmp(got, in, n) ==
			    0, fails, "well-formed input %d changed", i);
	}
	CHECK(fails == 0, "20000 random byte strings: well-formed out, "
	    "well-formed in unchanged");
}

int
main(void)
{
	test_doubles();
	test_strings();
	json_object_put(jv_string(NULL));
	return check_done();
}
