/* SPDX-License-Identifier: Apache-2.0 */
/* licence.c - the licence of a generated project: the repository's LICENSE
 * (Apache-2.0, embedded at build time) as <name>/LICENSE, and an SPDX line
 * at the top of every source file, so whoever ships the generated kernels
 * knows on which terms (the kernels follow CMSIS-NN, also Apache-2.0). */
#include "codegen_internal.h"

#include <string.h>

#define SPDX_ID "SPDX-License-Identifier: Apache-2.0"

/* The comment syntax of a file kind, or NULL for formats without comments
 * (JSON: report.json and arch.json are covered by LICENSE alone). */
static const char *spdx_line(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	if (strcmp(base, "Makefile") == 0)
		return "# " SPDX_ID "\n";
	dot = strrchr(base, '.');
	if (!dot)
		return NULL;
	if (strcmp(dot, ".c") == 0 || strcmp(dot, ".h") == 0 ||
	    strcmp(dot, ".ld") == 0)
		return "/* " SPDX_ID " */\n";
	if (strcmp(dot, ".md") == 0)
		return "<!-- " SPDX_ID " -->\n";
	return NULL;
}

/* Whether the first lines already carry an SPDX identifier (a source that
 * gets its own header later must not end up with two). */
static int has_spdx(const char *data, size_t len)
{
	size_t n = len < 512 ? len : 512;
	const char *key = "SPDX-License-Identifier:";
	size_t k = strlen(key);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(data + i, key, k) == 0)
			return 1;
	return 0;
}

enum core_status codegen_licence_apply(struct codegen_ctx *c)
{
	struct codegen_project *p = c->p;
	const struct codegen_file *lic = NULL;

	for (const struct codegen_file *f = codegen_licence_files; f->path; f++)
		if (strcmp(f->path, "LICENSE") == 0)
			lic = f;
	if (!lic) {
		core_errf(c->err, c->errlen, "codegen: no embedded LICENSE");
		return CORE_ERR_INTERNAL;
	}
	for (int i = 0; i < p->nfiles; i++) {
		struct codegen_out *f = &p->files[i];
		const char *line = spdx_line(f->path);
		size_t n;
		char *data;

		if (!line || has_spdx(f->data, f->len))
			continue;
		n = strlen(line);
		data = core_malloc(n + f->len + 1);
		if (!data) {
			core_errf(c->err, c->errlen,
				  "codegen: out of memory for %s", f->path);
			return CORE_ERR_NOMEM;
		}
		memcpy(data, line, n);
		memcpy(data + n, f->data, f->len + 1); /* with the NUL */
		core_free(f->data);
		f->data = data;
		f->len += n;
	}
	return codegen_add(c, "LICENSE", lic->text, lic->len);
}
