/*
 * JSON values that tell the truth, for every answer of the API and the
 * stream: numbers that read back as the same number, strings that are
 * valid UTF-8 whatever bytes they came from.
 */
#ifndef APPCORE_JSONV_H
#define APPCORE_JSONV_H

#include <stddef.h>

#include <json-c/json.h>

/* A double as the shortest decimal that reads back as the same double;
 * JSON null (NULL) for infinities and NaN, which JSON cannot carry. */
json_object *jv_double(double v);
/* A string; bytes that are not UTF-8 become U+FFFD.  NULL s: null. */
json_object *jv_string(const char *s);
json_object *jv_string_len(const char *s, size_t n);

/* Copies n bytes of in to out (cap bytes, NUL-terminated) as valid UTF-8:
 * each byte of an ill-formed sequence becomes U+FFFD, and a sequence that
 * would not fit is left out whole.  Returns the length written. */
size_t utf8_sanitize(char *out, size_t cap, const char *in, size_t n);
/* The length of the well-formed UTF-8 sequence at p (n bytes left), or 0. */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
