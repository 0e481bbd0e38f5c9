/* SPDX-License-Identifier: Apache-2.0 */
/* costtest.h - test-only helpers for the graph and cost tests: a minimal
 * lmnas-arch/1 JSON reader (until the real arch_parse is merged, then replace
 * its callers with arch_parse), a seeded random architecture generator, and
 * fixture path lookup. */
#ifndef LMNAS_COSTTEST_H
#define LMNAS_COSTTEST_H

#include "arch/arch.h"
#include "core/core.h"

#include <jansson.h>

/* Reads the fields of struct arch from an lmnas-arch/1 object (input{},
 * stem null/absent or {}, stages[], head{}), filling the format's defaults
 * (arch.h). Checks only that required fields exist with the right JSON type
 * and that block and act names are known; no range checks, unknown keys
 * ignored. */
enum core_status costtest_arch_from_json(const json_t *j, struct arch *out,
					 char *err, size_t errlen);

/* A random architecture inside arch.h's limits, kept small enough that
 * hundreds of them plan in well under a second: resolution 8..64, widths
 * up to 64 (expanded up to 384), 1..4 stages of 1..3 blocks. */
void costtest_arch_random(struct core_rng *rng, struct arch *out);

/* Path of a file under tests/fixtures/ ($LMNAS_ROOT or ".") into buf. */
const char *costtest_fixture_path(const char *rel, char *buf, size_t len);

#endif
