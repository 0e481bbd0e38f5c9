/* SPDX-License-Identifier: Apache-2.0 */
/* spec_parse.c - job spec JSON -> struct search_spec: structure and type
 * checks with field paths, defaults, presets, and the cross-field checks.
 *
 * A member that is wrong is reported once and its default kept, so that no
 * later check reports a consequence of it. */
#include "search/search.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const root_keys[] = {
    "name", "dataset",	 "space",  "constraints", "proposer",
    "llm",  "evolution", "budget", "export",	  "threads",
    "seed", "webhook",	 NULL};
static const char *const dataset_keys[] = {"kind", "path",    "id",
					   "name", "classes", NULL};
static const char *const constraint_keys[] = {"target", "max_macs", "max_sram",
					      "max_flash", NULL};
static const char *const llm_keys[] = {"base_url",
				       "model",
				       "api_key_env",
				       "temperature",
				       "candidates_per_round",
				       "max_tokens",
				       "timeout_s",
				       "repair_attempts",
				       "prompt_token_budget",
				       NULL};
static const char *const webhook_keys[] = {"url", NULL};
static const char *const evolution_keys[] = {"population", "sample_size", NULL};
static const char *const budget_keys[] = {"rounds", "max_candidates", "proxy",
					  "final", NULL};
static const char *const proxy_keys[] = {
    "epochs", "train_fraction", "resolution", "batch", "lr", NULL};
static const char *const final_keys[] = {"top_k", "epochs",   "teacher_logits",
					 "kd_T",  "kd_alpha", "batch",
					 "lr",	  NULL};

static const char *const export_keys[] = {
    "target",	   "calibration_images", "calibration", "percentile",
    "test_images", "eval_images",	 NULL};

/* An integer in lo..hi; *out keeps its default unless one is read. */
static void read_int64(const struct arch_reader *r, const json_t *obj,
		       const char *key, long long lo, long long hi,
		       long long *out)
{
	arch_reader_int(r, obj, key, 0, lo, hi, out);
}

static void read_int(const struct arch_reader *r, const json_t *obj,
		     const char *key, int lo, int hi, int *out)
{
	long long x = *out;

	read_int64(r, obj, key, lo, hi, &x);
	*out = (int)x;
}

/* x rounded to 15 significant digits: what the canonical JSON writes
 * (ARCH_JSON_REAL_PRECISION), so that the spec read back from it is the
 * same to the bit. */
static double real15(double x)
{
	char buf[40];

	snprintf(buf, sizeof buf, "%.*g", ARCH_JSON_REAL_PRECISION, x);
	return strtod(buf, NULL);
}

/* A number in the interval lo..hi, each end open or closed; kept to 15
 * significant digits. */
static void read_real(const struct arch_reader *r, const json_t *obj,
		      const char *key, double lo, int lo_open, double hi,
		      int hi_open, double *out)
{
	const json_t *v = arch_reader_member(r, obj, key, 0);
	double x;
	char p[128];

	if (!v)
		return;
	if (!json_is_number(v)) {
		arch_reader_type_error(r, key, "a number", v);
		return;
	}
	x = real15(json_number_value(v));
	if ((lo_open ? !(x > lo) : !(x >= lo)) ||
	    (hi_open ? !(x < hi) : !(x <= hi))) {
		arch_reader_path(r, key, p, sizeof p);
		core_field_errorf(r->fe, p, "%.10g is outside %c%g, %g%c", x,
				  lo_open ? '(' : '[', lo, hi,
				  hi_open ? ')' : ']');
		return;
	}
	*out = x;
}

/* A string of 1..cap-1 bytes without control characters (nullable: null
 * gives ""). Returns 1 when a value (or null) was read. */
static int read_string(const struct arch_reader *r, const json_t *obj,
		       const char *key, int required, int nullable, char *dst,
		       size_t cap)
{
	const json_t *v = arch_reader_member(r, obj, key, required);
	const char *s;
	size_t n;
	char p[128];

	if (!v)
		return 0;
	arch_reader_path(r, key, p, sizeof p);
	if (nullable && json_is_null(v)) {
		dst[0] = '\0';
		return 1;
	}
	if (!json_is_string(v)) {
		arch_reader_type_error(
		    r, key, nullable ? "a string or null" : "a string", v);
		return 0;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0) {
		core_field_errorf(r->fe, p, "must not be empty");
		return 0;
	}
	if (n >= cap) {
		core_field_errorf(r->fe, p, "%zu bytes, at most %zu", n,
				  cap - 1);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			core_field_errorf(r->fe, p,
					  "contains a control character at "
					  "byte %zu",
					  i);
			return 0;
		}
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 1;
}

/* One of names[0..count-1]; returns 1 when read. */
static int read_enum(const struct arch_reader *r, const json_t *obj,
		     const char *key, const char *const *names, int count,
		     int *out)
{
	return arch_reader_enum(r, obj, key, 0, names, count, out);
}

/* ---- sections ---------------------------------------------------------- */

static void read_dataset(const struct arch_reader *root, const json_t *j,
			 struct search_spec *s)
{
	static const char *const kinds[] = {"cifar10", "cifar100", "cache"};
	static const enum data_kind kind_of[] = {
	    DATA_KIND_CIFAR10, DATA_KIND_CIFAR100, DATA_KIND_CACHE};
	const json_t *d =
	    arch_reader_object(root, j, "dataset", 1, dataset_keys);
	struct arch_reader r = {root->fe, "dataset"};
	int kind = -1;
	long long classes = 0;

	if (!d)
		return;
	if (read_enum(&r, d, "kind", kinds, 3, &kind))
		s->dataset_kind = kind_of[kind];
	/* an import cache (lmnas dataset import): its classes come with it */
	read_int64(&r, d, "classes", 2, DATA_CACHE_MAX_CLASSES, &classes);
	s->dataset_classes = (int)classes;
	if (s->dataset_kind == DATA_KIND_CACHE && classes == 0 &&
	    !json_object_get(d, "id") && !json_object_get(d, "name"))
		core_field_errorf(root->fe, "dataset.classes",
				  "needed with kind cache (the import "
				  "report's class count)");
	if (s->dataset_kind != DATA_KIND_CACHE && classes != 0)
		core_field_errorf(root->fe, "dataset.classes",
				  "only for kind cache");
	read_int64(&r, d, "id", 1, (long long)1 << 62, &s->dataset_id);
	read_string(&r, d, "name", 0, 0, s->dataset_name,
		    sizeof s->dataset_name);
	/* a path is needed unless a team's dataset is named; with one, the
	 * server writes the path of its cache (a client's path is ignored) */
	read_string(&r, d, "path",
		    !json_object_get(d, "id") && !json_object_get(d, "name"), 0,
		    s->dataset_path, sizeof s->dataset_path);
}

static int allows_3_channels(const struct space *sp)
{
	for (int i = 0; i < sp->channels.n; i++)
		if (sp->channels.v[i] == 3)
			return 1;
	return 0;
}

static void read_space(const struct arch_reader *root, const json_t *j,
		       struct search_spec *s)
{
	const json_t *v = arch_reader_member(root, j, "space", 0);
	struct core_field_errors sfe;
	char p[160];
	enum core_status rc;

	if (!v)
		return;
	if (!json_is_object(v)) {
		arch_reader_type_error(root, "space", "an object", v);
		return;
	}
	rc = space_from_json(v, &s->space, &sfe);
	if (rc == CORE_ERR_NOMEM) {
		core_field_errorf(root->fe, "space", "out of memory");
		return;
	}
	for (int i = 0; i < sfe.n; i++) {
		if (strcmp(sfe.e[i].field, "$") == 0)
			snprintf(p, sizeof p, "space");
		else
			snprintf(p, sizeof p, "space.%s", sfe.e[i].field);
		core_field_errorf(root->fe, p, "%s", sfe.e[i].reason);
	}
	root->fe->dropped += sfe.dropped;
	if (rc == CORE_OK && !allows_3_channels(&s->space))
		core_field_errorf(root->fe, "space.channels",
				  "must allow 3 (CIFAR images have 3 "
				  "channels)");
}

/* A limit: an integer 1..SEARCH_MAX_LIMIT, or null for none. */
static void read_limit(const struct arch_reader *r, const json_t *obj,
		       const char *key, uint64_t *out)
{
	const json_t *v = arch_reader_member(r, obj, key, 0);
	long long x = 0;

	if (v && json_is_null(v)) {
		*out = 0;
		return;
	}
	if (v && !json_is_integer(v)) {
		arch_reader_type_error(r, key, "an integer or null", v);
		return;
	}
	read_int64(r, obj, key, 1, (long long)SEARCH_MAX_LIMIT, &x);
	if (x > 0)
		*out = (uint64_t)x;
}

static void read_constraints(const struct arch_reader *root, const json_t *j,
			     struct search_spec *s)
{
	const json_t *c =
	    arch_reader_object(root, j, "constraints", 0, constraint_keys);
	struct arch_reader r = {root->fe, "constraints"};
	struct search_constraints *k = &s->constraints;
	const json_t *t;
	const struct search_target *preset;
	char shown[48], list[160];
	size_t used = 0;

	if (!c)
		return;
	t = json_object_get(c, "target");
	if (t && json_is_null(t)) {
		memset(k, 0, sizeof *k);
	} else if (t && !json_is_string(t)) {
		arch_reader_type_error(&r, "target", "a string or null", t);
	} else if (t) {
		preset = search_target_find(json_string_value(t));
		if (!preset) {
			list[0] = '\0';
			for (int i = 0;
			     search_targets[i].name && used < sizeof list; i++)
				used += (size_t)snprintf(
				    list + used, sizeof list - used, "%s%s",
				    i ? ", " : "", search_targets[i].name);
			arch_json_printable(json_string_value(t), shown,
					    sizeof shown);
			core_field_errorf(r.fe, "constraints.target",
					  "'%s' is not one of %s (or null)",
					  shown, list);
		} else {
			snprintf(k->target, sizeof k->target, "%s",
				 preset->name);
			k->max_macs = preset->max_macs;
			k->max_sram = preset->max_sram;
			k->max_flash = preset->max_flash;
		}
	}
	read_limit(&r, c, "max_macs", &k->max_macs);
	read_limit(&r, c, "max_sram", &k->max_sram);
	read_limit(&r, c, "max_flash", &k->max_flash);
}

static int is_identifier(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return 0;
	return 1;
}

static void read_llm(const struct arch_reader *root, const json_t *j,
		     struct search_spec *s)
{
	const json_t *l = arch_reader_object(root, j, "llm", 0, llm_keys);
	struct arch_reader r = {root->fe, "llm"};
	struct search_llm_spec *m = &s->llm;
	char url[SEARCH_URL_MAX], env[SEARCH_ENV_MAX];
	const json_t *v;
	int nerr = root->fe->n;

	if (!l)
		return;
	if (read_string(&r, l, "base_url", 0, 0, url, sizeof url)) {
		if (strncmp(url, "http://", 7) != 0 &&
		    strncmp(url, "https://", 8) != 0)
			core_field_errorf(r.fe, "llm.base_url",
					  "must start with http:// or "
					  "https://");
		else if (strchr(url, ' '))
			core_field_errorf(r.fe, "llm.base_url",
					  "contains a space");
		else
			memcpy(m->base_url, url, sizeof url);
	}
	read_string(&r, l, "model", 0, 0, m->model, sizeof m->model);
	/* The value is never echoed: a key pasted here must not end up in an
	 * error message, a log line or the stored spec. */
	v = json_object_get(l, "api_key_env");
	if (v && json_is_string(v) &&
	    (json_string_length(v) >= sizeof env ||
	     json_string_length(v) != strlen(json_string_value(v)) ||
	     !is_identifier(json_string_value(v))))
		core_field_errorf(r.fe, "llm.api_key_env",
				  "must be the name of an environment "
				  "variable ([A-Za-z_][A-Za-z0-9_]*, at most "
				  "%d characters), not the key itself",
				  SEARCH_ENV_MAX - 1);
	else if (read_string(&r, l, "api_key_env", 0, 1, env, sizeof env))
		memcpy(m->api_key_env, env, sizeof env);
	read_real(&r, l, "temperature", 0, 0, 2, 0, &m->temperature);
	read_int(&r, l, "candidates_per_round", 1, SEARCH_MAX_K,
		 &m->candidates_per_round);
	read_int(&r, l, "max_tokens", 0, 1000000, &m->max_tokens);
	read_int(&r, l, "timeout_s", 1, 3600, &m->timeout_s);
	read_int(&r, l, "repair_attempts", 0, SEARCH_MAX_REPAIRS,
		 &m->repair_attempts);
	read_int(&r, l, "prompt_token_budget", 1024, 1000000,
		 &m->prompt_token_budget);
	/* a hung or failing server must not hold a round for days */
	if (root->fe->n == nerr &&
	    search_llm_round_worst_s(m) > SEARCH_LLM_ROUND_MAX_S)
		core_field_errorf(
		    r.fe, "llm.timeout_s",
		    "%d s x %d requests per call (%d attempts + %d format "
		    "steps) x %d calls per round (1 + llm.repair_attempts), "
		    "plus retry waits, is %.1f h per round with a hung or "
		    "failing server, above the %d h cap: lower llm.timeout_s "
		    "or llm.repair_attempts",
		    m->timeout_s, SEARCH_LLM_ATTEMPTS + LLM_FORMAT_FALLBACKS,
		    SEARCH_LLM_ATTEMPTS, LLM_FORMAT_FALLBACKS,
		    1 + m->repair_attempts,
		    (double)search_llm_round_worst_s(m) / 3600.0,
		    SEARCH_LLM_ROUND_MAX_S / 3600);
}

long long search_llm_round_worst_s(const struct search_llm_spec *l)
{
	long long per_call =
	    (long long)(SEARCH_LLM_ATTEMPTS + LLM_FORMAT_FALLBACKS) *
		l->timeout_s +
	    (long long)(SEARCH_LLM_ATTEMPTS - 1) * SEARCH_LLM_WAIT_MAX_S;

	return (1LL + l->repair_attempts) * per_call;
}

/* Only the URL's form here; which hosts it may name is the server's
 * policy (checked at submit, and again with the resolved addresses when a
 * delivery is sent). */
static void read_webhook(const struct arch_reader *root, const json_t *j,
			 struct search_spec *s)
{
	const json_t *w =
	    arch_reader_object(root, j, "webhook", 0, webhook_keys);
	struct arch_reader r = {root->fe, "webhook"};
	char url[SEARCH_URL_MAX];
	const char *rest;

	if (!w)
		return;
	if (!read_string(&r, w, "url", 1, 0, url, sizeof url))
		return;
	rest = strncmp(url, "https://", 8) == 0	 ? url + 8
	       : strncmp(url, "http://", 7) == 0 ? url + 7
						 : NULL;
	if (!rest)
		core_field_errorf(r.fe, "webhook.url",
				  "must start with http:// or https://");
	else if (strpbrk(url, " \\"))
		core_field_errorf(r.fe, "webhook.url",
				  "contains a space or a backslash");
	else if (strcspn(rest, "/?#") > strcspn(rest, "@"))
		core_field_errorf(r.fe, "webhook.url",
				  "must not carry credentials (user@host); "
				  "deliveries are signed instead");
	else if (rest[0] == '\0' || strchr("/?#:", rest[0]))
		core_field_errorf(r.fe, "webhook.url", "has no host");
	else
		memcpy(s->webhook_url, url, sizeof url);
}

static void read_evolution(const struct arch_reader *root, const json_t *j,
			   struct search_spec *s)
{
	const json_t *e =
	    arch_reader_object(root, j, "evolution", 0, evolution_keys);
	struct arch_reader r = {root->fe, "evolution"};
	int n = root->fe->n;

	if (!e)
		return;
	read_int(&r, e, "population", 2, 1000, &s->evolution.population);
	read_int(&r, e, "sample_size", 2, 1000, &s->evolution.sample_size);
	if (root->fe->n == n &&
	    s->evolution.sample_size > s->evolution.population)
		core_field_errorf(root->fe, "evolution.sample_size",
				  "%d is larger than the population (%d)",
				  s->evolution.sample_size,
				  s->evolution.population);
}

static void read_kd_alpha(const struct arch_reader *r, const json_t *f,
			  struct search_final_spec *fin)
{
	const json_t *v = json_object_get(f, "kd_alpha");
	double a[2] = {0, 0};
	int ok = 1;

	if (!v)
		return;
	if (json_is_number(v)) {
		read_real(r, f, "kd_alpha", 0, 0, 1, 0, &fin->kd_alpha0);
		fin->kd_alpha1 = -1.0;
		return;
	}
	if (!json_is_array(v)) {
		arch_reader_type_error(r, "kd_alpha", "a number or [a0, a1]",
				       v);
		return;
	}
	if (json_array_size(v) != 2) {
		core_field_errorf(r->fe, "budget.final.kd_alpha",
				  "%zu entries, expected 2 ([a0, a1])",
				  json_array_size(v));
		return;
	}
	for (int i = 0; i < 2; i++) {
		const json_t *x = json_array_get(v, (size_t)i);
		char p[64];

		snprintf(p, sizeof p, "budget.final.kd_alpha[%d]", i);
		if (!json_is_number(x)) {
			core_field_errorf(r->fe, p, "expected a number, got %s",
					  arch_json_kind(x));
			ok = 0;
			continue;
		}
		a[i] = real15(json_number_value(x));
		if (!(a[i] >= 0 && a[i] <= 1)) {
			core_field_errorf(r->fe, p, "%.10g is outside [0, 1]",
					  a[i]);
			ok = 0;
		}
	}
	if (ok) {
		fin->kd_alpha0 = a[0];
		fin->kd_alpha1 = a[1];
	}
}

static void read_budget(const struct arch_reader *root, const json_t *j,
			struct search_spec *s)
{
	const json_t *b = arch_reader_object(root, j, "budget", 0, budget_keys);
	struct arch_reader r = {root->fe, "budget"};
	struct arch_reader rp = {root->fe, "budget.proxy"};
	struct arch_reader rf = {root->fe, "budget.final"};
	struct search_proxy_spec *px = &s->budget.proxy;
	struct search_final_spec *fin = &s->budget.final;
	const json_t *p, *f;
	char path[SEARCH_PATH_MAX];

	if (!b)
		return;
	read_int(&r, b, "rounds", 1, 1000, &s->budget.rounds);
	read_int(&r, b, "max_candidates", 1, 100000, &s->budget.max_candidates);
	p = arch_reader_object(&r, b, "proxy", 0, proxy_keys);
	if (p) {
		read_int(&rp, p, "epochs", 1, 1000, &px->epochs);
		read_real(&rp, p, "train_fraction", 0, 1, 1, 0,
			  &px->train_fraction);
		read_int(&rp, p, "resolution", 0, DATA_MAX_RESOLUTION,
			 &px->resolution);
		if (px->resolution > 0 &&
		    px->resolution < DATA_MIN_RESOLUTION) {
			core_field_errorf(root->fe, "budget.proxy.resolution",
					  "%d is neither 0 nor in %d..%d",
					  px->resolution, DATA_MIN_RESOLUTION,
					  DATA_MAX_RESOLUTION);
			px->resolution = 0;
		}
		read_int(&rp, p, "batch", 2, 4096, &px->batch);
		read_real(&rp, p, "lr", 0, 1, 10, 0, &px->lr);
	}
	f = arch_reader_object(&r, b, "final", 0, final_keys);
	if (f) {
		read_int(&rf, f, "top_k", 0, 100, &fin->top_k);
		read_int(&rf, f, "epochs", 1, 10000, &fin->epochs);
		if (read_string(&rf, f, "teacher_logits", 0, 1, path,
				sizeof path))
			memcpy(fin->teacher_logits, path, sizeof path);
		read_real(&rf, f, "kd_T", 0, 1, 100, 0, &fin->kd_T);
		read_kd_alpha(&rf, f, fin);
		read_int(&rf, f, "batch", 2, 4096, &fin->batch);
		read_real(&rf, f, "lr", 0, 1, 10, 0, &fin->lr);
	}
}

static void read_export(const struct arch_reader *root, const json_t *j,
			struct search_spec *s)
{
	static const char *const calibrations[] = {"minmax", "percentile"};
	const char *targets[CODEGEN_TARGET_COUNT];
	const json_t *e = arch_reader_object(root, j, "export", 0, export_keys);
	struct arch_reader r = {root->fe, "export"};
	struct search_export_spec *x = &s->export;
	int v;

	if (!e)
		return;
	/* the names codegen knows, so the two lists cannot drift apart */
	for (int i = 0; i < CODEGEN_TARGET_COUNT; i++)
		targets[i] = codegen_target_name((enum codegen_target)i);
	v = (int)x->target;
	if (read_enum(&r, e, "target", targets, CODEGEN_TARGET_COUNT, &v))
		x->target = (enum codegen_target)v;
	read_int(&r, e, "calibration_images", 1, 50000, &x->calibration_images);
	v = (int)x->calibration;
	if (read_enum(&r, e, "calibration", calibrations, 2, &v))
		x->calibration = (enum search_calibration)v;
	read_real(&r, e, "percentile", 50, 1, 100, 1, &x->percentile);
	read_int(&r, e, "test_images", 1, CODEGEN_MAX_IMAGES, &x->test_images);
	read_int(&r, e, "eval_images", 0, 10000, &x->eval_images);
}

/* ---- entry points -------------------------------------------------------- */

enum core_status search_spec_from_json(const json_t *j, struct search_spec *out,
				       struct core_field_errors *fe)
{
	static const char *const kinds[] = {"llm", "evolution", "random"};
	struct arch_reader root = {fe, ""};
	struct search_spec *s;
	long long seed;
	int kind;
	enum core_status rc = CORE_OK;

	core_field_errors_clear(fe);
	if (!j || !json_is_object(j)) {
		core_field_errorf(fe, "$", "expected an object, got %s",
				  j ? arch_json_kind(j) : "nothing");
		return CORE_ERR_INVALID;
	}
	/* ~20 KB: on the heap, so that callers may keep deep stacks */
	s = core_malloc(sizeof *s);
	if (!s)
		return CORE_ERR_NOMEM;
	search_spec_default(s);
	arch_json_check_keys(j, "", root_keys, fe);
	read_string(&root, j, "name", 1, 0, s->name, sizeof s->name);
	read_dataset(&root, j, s);
	read_space(&root, j, s);
	read_constraints(&root, j, s);
	kind = (int)s->proposer;
	if (read_enum(&root, j, "proposer", kinds, SEARCH_PROPOSER_COUNT,
		      &kind))
		s->proposer = (enum search_proposer_kind)kind;
	read_llm(&root, j, s);
	read_evolution(&root, j, s);
	read_budget(&root, j, s);
	read_export(&root, j, s);
	read_webhook(&root, j, s);
	read_int(&root, j, "threads", 0, 256, &s->threads);
	seed = (long long)s->seed;
	read_int64(&root, j, "seed", 0, (long long)SEARCH_MAX_SEED, &seed);
	s->seed = (uint64_t)seed;
	if (fe->n || fe->dropped)
		rc = CORE_ERR_INVALID;
	else
		*out = *s;
	core_free(s);
	return rc;
}

enum core_status search_spec_parse(const char *text, size_t len,
				   struct search_spec *out,
				   struct core_field_errors *fe)
{
	json_t *j = NULL;
	enum core_status rc;

	core_field_errors_clear(fe);
	rc = arch_json_load(text, len, SEARCH_SPEC_MAX_JSON_BYTES, &j, fe);
	if (rc)
		return rc;
	rc = search_spec_from_json(j, out, fe);
	json_decref(j);
	return rc;
}
