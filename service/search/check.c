/* SPDX-License-Identifier: Apache-2.0 */
/* check.c - checking one proposed architecture (validation, space, cost,
 * novelty) with reasons for the LLM, the set of known hashes, and the
 * growable list of proposals. */
#include "search_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names --------------------------------------------------------------- */

const char *search_verdict_name(enum search_verdict v)
{
	static const char *const names[] = {"ok",	  "malformed",
					    "invalid",	  "outside_space",
					    "infeasible", "duplicate"};

	return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

const char *search_source_name(enum search_source s)
{
	static const char *const names[] = {"llm", "evolution", "random",
					    "user"};

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* ---- the set of known hashes ------------------------------------------- */

static int hash_ok(const char *h)
{
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		      (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return h[64] == '\0';
}

/* The first 16 hex digits of a SHA-256 are uniformly distributed. */
static size_t hash_home(const char *h, size_t cap)
{
	uint64_t x = 0;

	for (int i = 0; i < 16; i++)
		x = x << 4 |
		    (uint64_t)(h[i] <= '9' ? h[i] - '0' : h[i] - 'a' + 10);
	return (size_t)(x & (cap - 1));
}

void search_seen_init(struct search_seen *s)
{
	memset(s, 0, sizeof *s);
}

void search_seen_free(struct search_seen *s)
{
	core_free(s->slots);
	memset(s, 0, sizeof *s);
}

static struct search_seen_slot *slot_of(const struct search_seen *s,
					const char *h)
{
	size_t i;

	if (!s->cap)
		return NULL;
	i = hash_home(h, s->cap);
	while (s->slots[i].hash[0] && strcmp(s->slots[i].hash, h) != 0)
		i = (i + 1) & (s->cap - 1);
	return &s->slots[i];
}

int search_seen_find(const struct search_seen *s, const char *hash, long *id)
{
	const struct search_seen_slot *sl;

	if (!s || !hash || strlen(hash) != 64)
		return 0;
	sl = slot_of(s, hash);
	if (!sl || !sl->hash[0])
		return 0;
	if (id)
		*id = sl->id;
	return 1;
}

/* Keeps the load factor at most 1/2. */
static enum core_status grow(struct search_seen *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct search_seen old = *s;
	struct search_seen_slot *sl;

	if (cap > (size_t)SEARCH_SEEN_MAX * 2)
		return CORE_ERR_NOMEM;
	sl = core_calloc(cap, sizeof *sl);
	if (!sl)
		return CORE_ERR_NOMEM;
	s->slots = sl;
	s->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].hash[0])
			*slot_of(s, old.slots[i].hash) = old.slots[i];
	core_free(old.slots);
	return CORE_OK;
}

enum core_status search_seen_add(struct search_seen *s, const char *hash,
				 long id)
{
	struct search_seen_slot *sl;
	enum core_status rc;

	if (!hash || strnlen(hash, 65) != 64 || !hash_ok(hash))
		return CORE_ERR_INVALID;
	if (search_seen_find(s, hash, NULL))
		return CORE_ERR_CONFLICT;
	if (s->n >= SEARCH_SEEN_MAX)
		return CORE_ERR_NOMEM;
	if ((s->n + 1) * 2 > s->cap) {
		rc = grow(s);
		if (rc)
			return rc;
	}
	sl = slot_of(s, hash);
	memcpy(sl->hash, hash, 65);
	sl->id = id;
	s->n++;
	return CORE_OK;
}

/* ---- formatting --------------------------------------------------------- */

/* x with one decimal, a trailing ".0" dropped. */
static void one_decimal(double x, const char *unit, char *out, size_t outlen)
{
	char num[48];
	size_t n;

	snprintf(num, sizeof num, "%.1f", x);
	n = strlen(num);
	if (n > 2 && strcmp(num + n - 2, ".0") == 0)
		num[n - 2] = '\0';
	snprintf(out, outlen, "%s %s", num, unit);
}

void search_format_macs(double macs, char *out, size_t outlen)
{
	one_decimal(macs / 1e6, "M", out, outlen);
}

void search_format_bytes(double bytes, char *out, size_t outlen)
{
	if (bytes >= 1024.0 * 1024.0)
		one_decimal(bytes / (1024.0 * 1024.0), "MB", out, outlen);
	else
		one_decimal(bytes / 1024.0, "KB", out, outlen);
}

/* Both numbers in the unit the limit is written in, so they compare. */
static void format_pair(int bytes, double v, double lim, char *vs, char *ls,
			size_t n)
{
	if (!bytes) {
		search_format_macs(v, vs, n);
		search_format_macs(lim, ls, n);
	} else if (lim >= 1024.0 * 1024.0) {
		one_decimal(v / (1024.0 * 1024.0), "MB", vs, n);
		one_decimal(lim / (1024.0 * 1024.0), "MB", ls, n);
	} else {
		one_decimal(v / 1024.0, "KB", vs, n);
		one_decimal(lim / 1024.0, "KB", ls, n);
	}
}

static size_t excess_one(const char *name, int bytes, double v, double lim,
			 char *out, size_t outlen, size_t used)
{
	char vs[48], ls[48], pct[32];
	double p;
	int w;

	if (lim <= 0 || v <= lim || used >= outlen)
		return used;
	format_pair(bytes, v, lim, vs, ls, sizeof vs);
	p = (v - lim) / lim * 100.0;
	if (p >= 0.05)
		snprintf(pct, sizeof pct, "%.1f%%", p);
	else
		snprintf(pct, sizeof pct, "%.2g%%", p);
	if (strcmp(vs, ls) == 0) /* too close to tell apart: exact counts */
		w = snprintf(out + used, outlen - used,
			     "%s%s: %.0f exceeds the limit of %.0f by %s",
			     used ? "; " : "", name, v, lim, pct);
	else
		w = snprintf(out + used, outlen - used,
			     "%s%s: %s exceeds the limit of %s by %s",
			     used ? "; " : "", name, vs, ls, pct);
	if (w < 0)
		return used;
	used += (size_t)w;
	return used < outlen ? used : outlen - 1;
}

int search_cost_excess(const struct search_spec *spec,
		       const struct search_cost *c, char *out, size_t outlen)
{
	const struct search_constraints *k = &spec->constraints;
	size_t used = 0;

	if (outlen)
		out[0] = '\0';
	used = excess_one("max_macs", 0, (double)c->macs, (double)k->max_macs,
			  out, outlen, used);
	used = excess_one("max_sram", 1, (double)c->sram, (double)k->max_sram,
			  out, outlen, used);
	used = excess_one("max_flash", 1, (double)c->flash,
			  (double)k->max_flash, out, outlen, used);
	return (k->max_macs && c->macs > k->max_macs) ||
	       (k->max_sram && c->sram > k->max_sram) ||
	       (k->max_flash && c->flash > k->max_flash);
}

void search_cost_from_report(const struct cost_report *r, struct search_cost *c)
{
	c->macs = r->macs;
	c->sram = r->sram_bytes;
	c->flash = r->flash.total;
	c->params_trainable = r->params_trainable;
	c->params_deployed = r->params_deployed;
}

/* ---- text helpers ------------------------------------------------------- */

void search_copy_text(char *dst, size_t cap, const char *s, size_t len,
		      int ellipsis)
{
	size_t room = cap - 1, n = len;

	if (!cap)
		return;
	if (n > room) {
		n = ellipsis && room >= 3 ? room - 3 : room;
		/* back off to the start of a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (n < len && ellipsis && room >= 3) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

enum core_status search_arch_compact(const struct arch *a, char **out,
				     size_t *len)
{
	json_t *j = arch_to_json(a);
	enum core_status rc;

	*out = NULL;
	if (!j)
		return CORE_ERR_NOMEM;
	json_object_del(j, "name");
	rc = arch_json_dump(j, 0, out, len);
	json_decref(j);
	return rc;
}

/* ---- the pipeline -------------------------------------------------------- */

static void reset(struct search_proposal *p)
{
	memset(p, 0, sizeof *p);
	p->index = -1;
	p->duplicate_of = -1;
	p->duplicate_index = -1;
}

/* JSON text of v (any JSON value) for storage: compact, capped at
 * SEARCH_ARCH_JSON_MAX; "null" otherwise. */
static enum core_status raw_json(const json_t *v, struct search_proposal *p)
{
	char *t =
	    v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
				  JSON_REAL_PRECISION(ARCH_JSON_REAL_PRECISION))
	      : NULL;

	if (t && strlen(t) <= SEARCH_ARCH_JSON_MAX)
		p->arch_json = core_strdup(t);
	else
		p->arch_json = core_strdup("null");
	free(t); /* Jansson's allocation */
	return p->arch_json ? CORE_OK : CORE_ERR_NOMEM;
}

/* Task checks that the space does not make: CIFAR's 3 channels and the
 * data set's classes. */
static void check_task(const struct search_spec *spec, const struct arch *a,
		       struct core_field_errors *fe)
{
	int classes = search_spec_classes(spec);

	if (a->channels != 3)
		core_field_errorf(
		    fe, "input.channels", "%d, but %s images have 3 channels",
		    a->channels, data_kind_name(spec->dataset_kind));
	if (a->classes != classes)
		core_field_errorf(fe, "head.classes",
				  "%d, but %s has %d classes", a->classes,
				  data_kind_name(spec->dataset_kind), classes);
}

/* Steps 2 to 4 for a valid a; p has arch, hash and arch_json. */
static enum core_status check_valid(const struct search_spec *spec,
				    const struct search_seen *known,
				    const struct search_seen *batch,
				    struct search_proposal *p, char *err,
				    size_t errlen)
{
	struct core_field_errors fe;
	struct cost_report rep;
	enum core_status rc;
	long id;

	space_check(&spec->space, &p->arch, &fe);
	check_task(spec, &p->arch, &fe);
	if (fe.n || fe.dropped) {
		p->verdict = SEARCH_VERDICT_OUTSIDE_SPACE;
		core_field_errors_join(&fe, p->reason, sizeof p->reason);
		return CORE_OK;
	}
	rc = cost_report_build(&p->arch, &rep, err, errlen);
	if (rc == CORE_ERR_NOMEM)
		return rc;
	if (rc) {
		/* graph_build refused what arch_validate accepted: report it
		 * as the candidate's problem, not the job's */
		p->verdict = SEARCH_VERDICT_INVALID;
		snprintf(p->reason, sizeof p->reason, "cost: %s", err);
		return CORE_OK;
	}
	search_cost_from_report(&rep, &p->cost);
	cost_report_free(&rep);
	p->have_cost = 1;
	if (search_cost_excess(spec, &p->cost, p->reason, sizeof p->reason)) {
		p->verdict = SEARCH_VERDICT_INFEASIBLE;
		return CORE_OK;
	}
	if (search_seen_find(known, p->hash, &id)) {
		p->verdict = SEARCH_VERDICT_DUPLICATE;
		p->duplicate_of = id;
		snprintf(p->reason, sizeof p->reason,
			 "duplicate of candidate %ld", id);
		return CORE_OK;
	}
	if (search_seen_find(batch, p->hash, &id)) {
		p->verdict = SEARCH_VERDICT_DUPLICATE;
		p->duplicate_index = (int)id;
		snprintf(p->reason, sizeof p->reason,
			 "duplicate of proposal %ld of this round", id);
		return CORE_OK;
	}
	p->verdict = SEARCH_VERDICT_OK;
	return CORE_OK;
}

/* Sets arch, hash and arch_json of a valid a. */
static enum core_status adopt(struct search_proposal *p, const struct arch *a)
{
	enum core_status rc;

	p->arch = *a;
	rc = arch_hash(a, p->hash);
	if (rc)
		return rc;
	p->have_arch = 1;
	return arch_to_text(a, 0, &p->arch_json, NULL);
}

static enum core_status fail_nomem(struct search_proposal *p, char *err,
				   size_t errlen)
{
	search_proposal_free(p);
	reset(p);
	core_errf(err, errlen, "out of memory checking a proposal");
	return CORE_ERR_NOMEM;
}

enum core_status search_check_arch(const struct search_spec *spec,
				   const struct search_seen *known,
				   const struct search_seen *batch,
				   const struct arch *a,
				   struct search_proposal *p, char *err,
				   size_t errlen)
{
	struct core_field_errors fe;
	enum core_status rc;

	reset(p);
	if (arch_validate(a, &fe) != CORE_OK) {
		json_t *j = arch_to_json(a); /* NULL for enums out of range */

		p->verdict = SEARCH_VERDICT_INVALID;
		core_field_errors_join(&fe, p->reason, sizeof p->reason);
		rc = raw_json(j, p);
		json_decref(j);
		return rc ? fail_nomem(p, err, errlen) : CORE_OK;
	}
	rc = adopt(p, a);
	if (!rc)
		rc = check_valid(spec, known, batch, p, err, errlen);
	return rc ? fail_nomem(p, err, errlen) : CORE_OK;
}

enum core_status search_check_json_in(const struct search_spec *spec,
				      const struct search_seen *known,
				      const struct search_seen *batch,
				      const json_t *arch,
				      struct search_proposal *p, char *err,
				      size_t errlen)
{
	struct core_field_errors fe;
	struct arch a;
	enum core_status rc;

	reset(p);
	if (!arch) {
		p->verdict = SEARCH_VERDICT_MALFORMED;
		snprintf(p->reason, sizeof p->reason, "no architecture");
		rc = raw_json(NULL, p);
		return rc ? fail_nomem(p, err, errlen) : CORE_OK;
	}
	rc = arch_from_json(arch, &a, &fe);
	if (rc == CORE_ERR_NOMEM)
		return fail_nomem(p, err, errlen);
	if (rc) {
		p->verdict = SEARCH_VERDICT_INVALID;
		core_field_errors_join(&fe, p->reason, sizeof p->reason);
		rc = raw_json(arch, p);
		return rc ? fail_nomem(p, err, errlen) : CORE_OK;
	}
	rc = adopt(p, &a);
	if (!rc)
		rc = check_valid(spec, known, batch, p, err, errlen);
	return rc ? fail_nomem(p, err, errlen) : CORE_OK;
}

enum core_status search_check_proposal(const struct search_spec *spec,
				       const struct search_seen *known,
				       const json_t *arch,
				       struct search_proposal *p, char *err,
				       size_t errlen)
{
	return search_check_json_in(spec, known, NULL, arch, p, err, errlen);
}

void search_proposal_free(struct search_proposal *p)
{
	core_free(p->arch_json);
	p->arch_json = NULL;
}

/* ---- lists of proposals -------------------------------------------------- */

void search_proposals_init(struct search_proposals *ps)
{
	memset(ps, 0, sizeof *ps);
}

enum core_status search_proposals_push(struct search_proposals *ps,
				       struct search_proposal **out)
{
	if (ps->n >= SEARCH_PROPOSALS_MAX)
		return CORE_ERR_NOMEM;
	if (ps->n == ps->cap) {
		int cap = ps->cap ? ps->cap * 2 : 8;
		struct search_proposal *v;

		if (cap > SEARCH_PROPOSALS_MAX)
			cap = SEARCH_PROPOSALS_MAX;
		v = core_realloc(ps->v, (size_t)cap * sizeof *v);
		if (!v)
			return CORE_ERR_NOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	*out = &ps->v[ps->n++];
	reset(*out);
	return CORE_OK;
}

enum core_status search_proposals_take(struct search_proposals *ps,
				       struct search_proposal *p)
{
	struct search_proposal *slot;
	enum core_status rc = search_proposals_push(ps, &slot);

	if (rc)
		return rc;
	*slot = *p;
	reset(p);
	return CORE_OK;
}

int search_proposals_count(const struct search_proposals *ps,
			   enum search_verdict v)
{
	int n = 0;

	for (int i = 0; i < ps->n; i++)
		n += ps->v[i].verdict == v;
	return n;
}

void search_proposals_free(struct search_proposals *ps)
{
	for (int i = 0; i < ps->n; i++)
		search_proposal_free(&ps->v[i]);
	core_free(ps->v);
	memset(ps, 0, sizeof *ps);
}

/* ---- batches of random and evolved proposals ------------------------------
 */

enum core_status search_batch_try(const struct search_spec *spec,
				  const struct search_seen *known,
				  struct search_seen *batch,
				  struct search_proposals *ps,
				  const struct arch *a, enum search_source src,
				  enum search_verdict *verdict, char *err,
				  size_t errlen)
{
	struct search_proposal p;
	int index = ps->n;
	char hash[65];
	enum core_status rc;

	/* Rejections are not kept here, so a known network can be skipped
	 * before it is costed (random and evolution mostly retry because of
	 * duplicates, and costing is the expensive step). */
	if (arch_hash(a, hash) == CORE_OK &&
	    (search_seen_find(known, hash, NULL) ||
	     search_seen_find(batch, hash, NULL))) {
		*verdict = SEARCH_VERDICT_DUPLICATE;
		return CORE_OK;
	}
	rc = search_check_arch(spec, known, batch, a, &p, err, errlen);
	if (rc)
		return rc;
	*verdict = p.verdict;
	if (p.verdict != SEARCH_VERDICT_OK) {
		search_proposal_free(&p);
		return CORE_OK;
	}
	p.source = src;
	p.index = index;
	rc = search_proposals_take(ps, &p);
	if (rc) {
		search_proposal_free(&p);
	} else {
		rc = search_seen_add(batch, ps->v[index].hash, index);
		if (rc)
			search_proposal_free(&ps->v[--ps->n]);
	}
	if (rc) {
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}
