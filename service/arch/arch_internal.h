/* SPDX-License-Identifier: Apache-2.0 */
/* arch_internal.h - functions shared between the files of the arch module
 * only; not part of its public face (arch.h). */
#ifndef LMNAS_ARCH_INTERNAL_H
#define LMNAS_ARCH_INTERNAL_H

#include "arch.h"

/* arch_validate without clearing fe first (the parser adds its own errors
 * before); the cross-field checks run only when fe is still empty. */
enum core_status arch_validate_into(const struct arch *a,
				    struct core_field_errors *fe);

#endif
