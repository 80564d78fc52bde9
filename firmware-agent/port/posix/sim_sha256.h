#ifndef APPCORE_SIM_SHA256_H
#define APPCORE_SIM_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sim_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
/* 0, or -1 with errno when the file cannot be read. */
int sim_sha256_file(const char *path, uint8_t out[32]);

#endif
