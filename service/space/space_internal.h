/* SPDX-License-Identifier: Apache-2.0 */
/* space_internal.h - the table of list fields shared by the files of the
 * space module (parse, check, render, sample, JSON); not part of its public
 * face (space.h). */
#ifndef LMNAS_SPACE_INTERNAL_H
#define LMNAS_SPACE_INTERNAL_H

#include "space.h"

enum space_kind {
	SPACE_KIND_INT = 0, /* struct space_ints of numbers */
	SPACE_KIND_ENUM,    /* struct space_ints of enum values, JSON names */
	SPACE_KIND_REAL	    /* struct space_reals in [0, 1] or [0, 1) */
};

/* One list-valued field: how to read, check, print and find it. */
struct space_list_spec {
	const char *key; /* JSON member, and the arch field it constrains */
	enum space_kind kind;
	int lo, hi;		  /* INT: inclusive bounds */
	int odd;		  /* INT: values must be odd */
	int hi_open;		  /* REAL: [0, 1) rather than [0, 1] */
	int count;		  /* ENUM: values 0..count-1 */
	const char *(*name)(int); /* ENUM: value -> JSON name */
	size_t offset;		  /* of the list inside its struct */
	unsigned bit;		  /* SPACE_FIELD_* (stage lists only) */
};

#define SPACE_STAGE_LISTS 9
#define SPACE_STEM_LISTS  4
extern const struct space_list_spec space_stage_lists[SPACE_STAGE_LISTS];
extern const struct space_list_spec space_stem_lists[SPACE_STEM_LISTS];
extern const struct space_list_spec space_resolution_list;
extern const struct space_list_spec space_channels_list;
extern const struct space_list_spec space_dropout_list;

/* The list of spec inside the struct at base. */
static inline void *space_list_at(const struct space_list_spec *sp,
				  const void *base)
{
	return (char *)base + sp->offset;
}

/* Reads the JSON array v into the list at dst: every value checked, sorted,
 * duplicates refused. Problems go into fe under path ("kernel",
 * "kernel[1]"); returns 0 when there were none (dst is then complete). */
int space_list_read(const struct space_list_spec *sp, const json_t *v,
		    const char *path, void *dst, struct core_field_errors *fe);

/* The list as a JSON array (new reference; NULL on out-of-memory). */
json_t *space_list_to_json(const struct space_list_spec *sp, const void *list);

/* "{3,5,7}" / "{dwsep,mbconv}" / "{0,0.25,0.5}", cut with "...}" when
 * outlen is too small. */
void space_list_format(const struct space_list_spec *sp, const void *list,
		       char *out, size_t outlen);

/* Whether the list holds v (an int or enum value; a real, compared in its
 * canonical form). */
int space_ints_has(const struct space_ints *l, int v);
int space_reals_has(const struct space_reals *l, double v);

#endif
