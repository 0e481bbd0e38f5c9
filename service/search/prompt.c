/* SPDX-License-Identifier: Apache-2.0 */
/* prompt.c - the system and user messages of an LLM proposal call, the
 * history trimmed to the token budget, and the repair message. */
#include "search_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- the system message ----------------------------------------------------
 */

static const char *dataset_title(enum data_kind k)
{
	return k == DATA_KIND_CIFAR10 ? "CIFAR-10" : "CIFAR-100";
}

static enum core_status constraints_text(const struct search_spec *spec,
					 struct core_buf *b)
{
	const struct search_constraints *c = &spec->constraints;
	char s[48];
	enum core_status rc;

	if (c->max_macs) {
		search_format_macs((double)c->max_macs, s, sizeof s);
		rc = core_buf_printf(b,
				     "- MACs per inference: at most %s "
				     "(%llu)\n",
				     s, (unsigned long long)c->max_macs);
	} else {
		rc = core_buf_printf(b, "- MACs per inference: no limit\n");
	}
	if (rc)
		return rc;
	if (c->max_sram) {
		search_format_bytes((double)c->max_sram, s, sizeof s);
		rc = core_buf_printf(b,
				     "- peak SRAM (int8 activations and "
				     "scratch): at most %s (%llu bytes)\n",
				     s, (unsigned long long)c->max_sram);
	} else {
		rc = core_buf_printf(b, "- peak SRAM: no limit\n");
	}
	if (rc)
		return rc;
	if (c->max_flash) {
		search_format_bytes((double)c->max_flash, s, sizeof s);
		rc = core_buf_printf(b,
				     "- flash (int8 weights, biases and "
				     "runtime): at most %s (%llu bytes)",
				     s, (unsigned long long)c->max_flash);
	} else {
		rc = core_buf_printf(b, "- flash: no limit");
	}
	return rc;
}

/* A member of the space in the format, drawn with a fixed seed so that the
 * system message of a job never changes: the first of up to 200 draws that
 * is within the limits (else the first draw), so that the example does not
 * teach an infeasible design. */
static enum core_status example_text(const struct search_spec *spec, char **out)
{
	struct core_rng rng;
	struct arch a, first;
	char err[CORE_ERR_LEN], excess[8];
	int have = 0;
	enum core_status rc;

	core_rng_seed(&rng, 0x6c6d6e6173ULL);
	for (int t = 0; t < 200; t++) {
		struct cost_report rep;
		struct search_cost c;

		if (space_sample(&spec->space, &rng, search_spec_classes(spec),
				 &a, err, sizeof err) != CORE_OK)
			break;
		if (!have)
			first = a;
		have = 1;
		rc = cost_report_build(&a, &rep, err, sizeof err);
		if (rc == CORE_ERR_NOMEM)
			return rc;
		if (rc)
			continue;
		search_cost_from_report(&rep, &c);
		cost_report_free(&rep);
		if (!search_cost_excess(spec, &c, excess, sizeof excess))
			return search_arch_compact(&a, out, NULL);
	}
	if (have)
		return search_arch_compact(&first, out, NULL);
	*out = core_strdup("(none)");
	return *out ? CORE_OK : CORE_ERR_NOMEM;
}

static enum core_status render_system(const struct search_spec *spec,
				      char **out, size_t *len, char *err,
				      size_t errlen)
{
	struct core_buf cons, space;
	char classes[16], target[96], proxy[160], *example = NULL;
	const char *tpl;
	size_t tlen;
	enum core_status rc;

	core_buf_init(&cons, 4096);
	core_buf_init(&space, 64 * 1024);
	tpl = search_prompt_template("system.txt", &tlen);
	if (!tpl) {
		core_errf(err, errlen, "prompt template system.txt missing");
		return CORE_ERR_INTERNAL;
	}
	rc = constraints_text(spec, &cons);
	if (!rc)
		rc = space_render_prompt(&spec->space, &space);
	if (!rc)
		rc = example_text(spec, &example);
	if (rc) {
		core_errf(err, errlen, "out of memory building the prompt");
		goto out;
	}
	/* space_render_prompt ends with a newline; the template has its own */
	while (space.len && space.data[space.len - 1] == '\n')
		space.data[--space.len] = '\0';
	snprintf(classes, sizeof classes, "%d", search_spec_classes(spec));
	if (*spec->constraints.target)
		snprintf(target, sizeof target, "an %s-class microcontroller",
			 spec->constraints.target);
	else
		snprintf(target, sizeof target, "a microcontroller");
	if (spec->budget.proxy.resolution)
		snprintf(proxy, sizeof proxy,
			 "%d epochs on %g%% of the training set at "
			 "resolution %d",
			 spec->budget.proxy.epochs,
			 spec->budget.proxy.train_fraction * 100,
			 spec->budget.proxy.resolution);
	else
		snprintf(proxy, sizeof proxy,
			 "%d epochs on %g%% of the training set",
			 spec->budget.proxy.epochs,
			 spec->budget.proxy.train_fraction * 100);
	{
		const struct search_template_var vars[] = {
		    {"dataset", dataset_title(spec->dataset_kind)},
		    {"classes", classes},
		    {"target", target},
		    {"proxy", proxy},
		    {"constraints", cons.data},
		    {"space", space.data},
		    {"example", example},
		};
		rc = search_template_render(tpl, tlen, vars, 7,
					    SEARCH_PROMPT_MAX_BYTES, out, len,
					    err, errlen);
	}
out:
	core_buf_free(&cons);
	core_buf_free(&space);
	core_free(example);
	return rc;
}

/* ---- pieces of the user message --------------------------------------------
 */

/* One line per member: "- #12 (round 3): 71.2% accuracy; 23.4 M MACs;
 * 180.2 KB SRAM; 412 KB flash; {json}". */
static enum core_status member_line(const struct search_member *m, char **out)
{
	struct core_buf b;
	char macs[48], sram[48], flash[48], *json = NULL;
	enum core_status rc;

	*out = NULL;
	rc = search_arch_compact(&m->arch, &json, NULL);
	if (rc)
		return rc;
	search_format_macs(m->pt.macs, macs, sizeof macs);
	search_format_bytes(m->pt.sram, sram, sizeof sram);
	search_format_bytes(m->pt.flash, flash, sizeof flash);
	core_buf_init(&b, SEARCH_PROMPT_MAX_BYTES);
	rc = core_buf_printf(&b,
			     "- #%ld (round %d): %.1f%% accuracy; %s MACs; "
			     "%s SRAM; %s flash; %s\n",
			     m->id, m->round + 1, m->pt.acc * 100, macs, sram,
			     flash, json);
	core_free(json);
	if (!rc)
		*out = core_buf_steal(&b, NULL);
	return rc;
}

static enum core_status reject_line(const struct search_reject *r, char **out)
{
	char reason[SEARCH_PROMPT_REASON_SHOWN + 1];
	char arch[SEARCH_PROMPT_ARCH_SHOWN + 1], id[32];
	const char *a = r->arch_json && strcmp(r->arch_json, "null") != 0
			    ? r->arch_json
			    : NULL;
	struct core_buf b;
	enum core_status rc;

	*out = NULL;
	search_copy_text(reason, sizeof reason, r->reason ? r->reason : "",
			 r->reason ? strlen(r->reason) : 0, 1);
	if (a)
		search_copy_text(arch, sizeof arch, a, strlen(a), 1);
	if (r->id > 0)
		snprintf(id, sizeof id, "#%ld ", r->id);
	else
		id[0] = '\0';
	core_buf_init(&b, SEARCH_PROMPT_MAX_BYTES);
	rc = core_buf_printf(&b, "- %s(round %d, %s): %s%s%s\n", id,
			     r->round + 1, search_verdict_name(r->verdict),
			     reason, a ? "; proposed: " : "", a ? arch : "");
	if (!rc)
		*out = core_buf_steal(&b, NULL);
	return rc;
}

static enum core_status change_text(const struct search_history *h,
				    struct core_buf *b)
{
	enum core_status rc = CORE_OK;

	if (!h || h->round == 0)
		return core_buf_printf(b, "(this is the first round)");
	if (h->nentered == 0 && h->nleft == 0)
		rc = core_buf_printf(b, "the front did not change.");
	for (int i = 0; i < h->nentered && !rc; i++)
		rc = core_buf_printf(
		    b, "%s#%ld%s", i ? ", " : "", h->entered[i],
		    i + 1 == h->nentered ? " entered the front." : "");
	for (int i = 0; i < h->nleft && !rc; i++)
		rc = core_buf_printf(b, "%s#%ld%s", i ? ", " : " ", h->left[i],
				     i + 1 == h->nleft ? " left it (dominated)."
						       : "");
	if (!rc && h->hv_before >= 0 && h->hv_after >= 0)
		rc = core_buf_printf(b, " Hypervolume %.4f -> %.4f.",
				     h->hv_before, h->hv_after);
	return rc;
}

/* ---- trimming -------------------------------------------------------------
 */

struct user_parts {
	const struct search_history *h;
	int nfront, nrej;
	char **front_line;  /* (nfront) */
	int *front_by_macs; /* (nfront) display order */
	int *front_trim;    /* (nfront) removal order */
	char *best;
	char **reject_line; /* (nrej) */
	char *change;
	int *front_in, *rej_in; /* include flags */
	int change_in;
};

/* oldest first; of equal age the less accurate first */
static int older(const struct search_member *a, const struct search_member *b)
{
	if (a->round != b->round)
		return a->round < b->round;
	if (a->id != b->id)
		return a->id < b->id;
	return a->pt.acc < b->pt.acc;
}

static int cheaper(const struct search_member *a, const struct search_member *b)
{
	if (a->pt.macs != b->pt.macs)
		return a->pt.macs < b->pt.macs;
	return a->id < b->id;
}

/* Stable insertion sort of idx[0..n-1] by before() over m (fronts are
 * small, and qsort has no context argument in C11). */
static void sort_idx(int *idx, int n, const struct search_member *m,
		     int (*before)(const struct search_member *,
				   const struct search_member *))
{
	for (int i = 1; i < n; i++) {
		int x = idx[i], j = i;
		while (j > 0 && before(&m[x], &m[idx[j - 1]])) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = x;
	}
}

static void parts_free(struct user_parts *u)
{
	for (int i = 0; u->front_line && i < u->nfront; i++)
		core_free(u->front_line[i]);
	for (int i = 0; u->reject_line && i < u->nrej; i++)
		core_free(u->reject_line[i]);
	core_free(u->front_line);
	core_free(u->reject_line);
	core_free(u->front_by_macs);
	core_free(u->front_trim);
	core_free(u->front_in);
	core_free(u->rej_in);
	core_free(u->best);
	core_free(u->change);
}

static enum core_status parts_build(const struct search_history *h,
				    struct user_parts *u)
{
	struct core_buf b;
	int nf = h ? h->nfront : 0, nr = h ? h->nrejects : 0;
	enum core_status rc = CORE_ERR_NOMEM;

	memset(u, 0, sizeof *u);
	u->h = h;
	u->nfront = nf;
	u->nrej = nr;
	u->change_in = 1;
	/* +1: calloc(0) may return NULL */
	u->front_line = core_calloc((size_t)nf + 1, sizeof *u->front_line);
	u->front_by_macs = core_calloc((size_t)nf + 1, sizeof(int));
	u->front_trim = core_calloc((size_t)nf + 1, sizeof(int));
	u->front_in = core_calloc((size_t)nf + 1, sizeof(int));
	u->reject_line = core_calloc((size_t)nr + 1, sizeof *u->reject_line);
	u->rej_in = core_calloc((size_t)nr + 1, sizeof(int));
	if (!u->front_line || !u->front_by_macs || !u->front_trim ||
	    !u->front_in || !u->reject_line || !u->rej_in)
		return CORE_ERR_NOMEM;
	for (int i = 0; i < nf; i++) {
		rc = member_line(&h->front[i], &u->front_line[i]);
		if (rc)
			return rc;
		u->front_by_macs[i] = u->front_trim[i] = i;
		u->front_in[i] = 1;
	}
	sort_idx(u->front_by_macs, nf, h ? h->front : NULL, cheaper);
	sort_idx(u->front_trim, nf, h ? h->front : NULL, older);
	for (int i = 0; i < nr; i++) {
		rc = reject_line(&h->rejects[i], &u->reject_line[i]);
		if (rc)
			return rc;
		u->rej_in[i] = 1;
	}
	if (h && h->best) {
		rc = member_line(h->best, &u->best);
		if (rc)
			return rc;
		u->best[strlen(u->best) - 1] = '\0'; /* its newline */
	} else {
		u->best = core_strdup("(none yet)");
		if (!u->best)
			return CORE_ERR_NOMEM;
	}
	core_buf_init(&b, 64 * 1024);
	rc = change_text(h, &b);
	if (rc)
		return rc;
	u->change = core_buf_steal(&b, NULL);
	return CORE_OK;
}

/* Drops the next item (see prompt.h for the order) and returns the bytes
 * its text took (at least 1); 0 when nothing is left to drop. */
static size_t trim_once(struct user_parts *u)
{
	int nf = 0, nr = 0;

	for (int i = 0; i < u->nfront; i++)
		nf += u->front_in[i];
	for (int i = 0; i < u->nrej; i++)
		nr += u->rej_in[i];
	for (int phase = 1; phase <= 5; phase++) {
		if ((phase == 1 && nf > SEARCH_PROMPT_FRONT_KEEP) ||
		    (phase == 3 && nf > 0)) {
			for (int k = 0; k < u->nfront; k++) {
				int i = u->front_trim[k];
				if (u->front_in[i]) {
					u->front_in[i] = 0;
					return strlen(u->front_line[i]) + 1;
				}
			}
		}
		if ((phase == 2 && nr > SEARCH_PROMPT_REJECTS_KEEP) ||
		    (phase == 4 && nr > 0)) {
			for (int i = 0; i < u->nrej; i++) {
				if (u->rej_in[i]) {
					u->rej_in[i] = 0;
					return strlen(u->reject_line[i]) + 1;
				}
			}
		}
		if (phase == 5 && u->change_in) {
			u->change_in = 0;
			return strlen(u->change) + 1;
		}
	}
	return 0;
}

static enum core_status render_user(const struct search_spec *spec,
				    const struct user_parts *u, int k,
				    struct search_prompt *p, char *err,
				    size_t errlen)
{
	struct core_buf front, rej;
	char round[16], rounds[16], evaluated[16], ks[16];
	const struct search_history *h = u->h;
	const char *tpl;
	size_t tlen;
	int shown = 0, rshown = 0;
	enum core_status rc = CORE_OK;

	tpl = search_prompt_template("user.txt", &tlen);
	if (!tpl) {
		core_errf(err, errlen, "prompt template user.txt missing");
		return CORE_ERR_INTERNAL;
	}
	core_buf_init(&front, SEARCH_PROMPT_MAX_BYTES);
	core_buf_init(&rej, SEARCH_PROMPT_MAX_BYTES);
	for (int j = 0; j < u->nfront && !rc; j++) {
		int i = u->front_by_macs[j];
		if (u->front_in[i]) {
			rc = core_buf_append(&front, u->front_line[i],
					     strlen(u->front_line[i]));
			shown++;
		}
	}
	if (!rc && shown == 0 && u->nfront == 0)
		rc = core_buf_printf(&front, "(none yet)\n");
	if (!rc && shown < u->nfront)
		rc = core_buf_printf(&front, "(%d older members not shown)\n",
				     u->nfront - shown);
	for (int i = 0; i < u->nrej && !rc; i++) {
		if (u->rej_in[i]) {
			rc = core_buf_append(&rej, u->reject_line[i],
					     strlen(u->reject_line[i]));
			rshown++;
		}
	}
	if (!rc && u->nrej == 0)
		rc = core_buf_printf(&rej, "(none)\n");
	if (!rc && rshown < u->nrej)
		rc = core_buf_printf(&rej, "(%d older rejections not shown)\n",
				     u->nrej - rshown);
	if (rc) {
		core_errf(err, errlen, "out of memory building the prompt");
		goto out;
	}
	/* the sections end with a newline; the template has its own */
	front.data[--front.len] = '\0';
	rej.data[--rej.len] = '\0';
	snprintf(round, sizeof round, "%d", (h ? h->round : 0) + 1);
	snprintf(rounds, sizeof rounds, "%d", spec->budget.rounds);
	snprintf(evaluated, sizeof evaluated, "%d", h ? h->evaluated : 0);
	snprintf(ks, sizeof ks, "%d", k);
	{
		const struct search_template_var vars[] = {
		    {"round", round},
		    {"rounds", rounds},
		    {"evaluated", evaluated},
		    {"front", front.data},
		    {"best", u->best},
		    {"change", u->change_in ? u->change : "(not shown)"},
		    {"rejects", rej.data},
		    {"k", ks},
		};
		core_free(p->user);
		p->user = NULL;
		rc = search_template_render(tpl, tlen, vars, 8,
					    SEARCH_PROMPT_MAX_BYTES, &p->user,
					    &p->user_len, err, errlen);
	}
	p->front_shown = shown;
	p->front_omitted = u->nfront - shown;
	p->rejects_shown = rshown;
	p->rejects_omitted = u->nrej - rshown;
	p->change_shown = u->change_in;
out:
	core_buf_free(&front);
	core_buf_free(&rej);
	return rc;
}

void search_prompt_free(struct search_prompt *p)
{
	core_free(p->system);
	core_free(p->user);
	memset(p, 0, sizeof *p);
}

enum core_status search_prompt_build(const struct search_spec *spec,
				     const struct search_history *h, int k,
				     struct search_prompt *out, char *err,
				     size_t errlen)
{
	struct user_parts u;
	long budget = spec->llm.prompt_token_budget;
	enum core_status rc;

	memset(out, 0, sizeof *out);
	out->budget = budget - search_prompt_reserve(budget);
	rc = render_system(spec, &out->system, &out->system_len, err, errlen);
	if (rc)
		goto fail;
	rc = parts_build(h, &u);
	if (rc) {
		core_errf(err, errlen, "out of memory building the prompt");
		goto fail_parts;
	}
	for (;;) {
		long room;
		size_t excess, saved = 0, step = 1;

		rc = render_user(spec, &u, k, out, err, errlen);
		if (rc)
			goto fail_parts;
		out->tokens = search_tokens_estimate(out->system_len) +
			      search_tokens_estimate(out->user_len);
		if (out->tokens <= out->budget)
			break;
		/* Drop items in order until their bytes cover the excess,
		 * then render again. A dropped item's bytes are an upper
		 * bound of what dropping it saves (an omission note may
		 * appear), so this never drops more than going one item at
		 * a time would. */
		room =
		    (out->budget - search_tokens_estimate(out->system_len)) * 4;
		excess =
		    room < 0 ? out->user_len + 1 : out->user_len - (size_t)room;
		while (saved < excess && step) {
			step = trim_once(&u);
			saved += step;
		}
		if (!saved) {
			core_errf(err, errlen,
				  "the prompt needs %ld tokens even with the "
				  "history trimmed; llm.prompt_token_budget "
				  "%ld leaves %ld (after a repair reserve of "
				  "%ld)",
				  out->tokens, budget, out->budget,
				  search_prompt_reserve(budget));
			rc = CORE_ERR_INVALID;
			goto fail_parts;
		}
	}
	parts_free(&u);
	return CORE_OK;
fail_parts:
	parts_free(&u);
fail:
	search_prompt_free(out);
	return rc;
}

/* ---- the repair message -----------------------------------------------------
 */

static enum core_status repair_render(const char *errors, const char *accepted,
				      int needed, size_t max_bytes, char **out,
				      size_t *out_len, char *err, size_t errlen)
{
	char ks[16];
	const char *tpl;
	size_t tlen;
	const struct search_template_var vars[] = {
	    {"errors", errors}, {"accepted", accepted}, {"k", ks}};

	tpl = search_prompt_template("repair.txt", &tlen);
	if (!tpl) {
		core_errf(err, errlen, "prompt template repair.txt missing");
		return CORE_ERR_INTERNAL;
	}
	snprintf(ks, sizeof ks, "%d", needed);
	return search_template_render(tpl, tlen, vars, 3, max_bytes, out,
				      out_len, err, errlen);
}

enum core_status search_prompt_repair(const struct search_spec *spec,
				      const char *problem,
				      const struct search_proposals *ps,
				      int from, int accepted, int needed,
				      size_t max_bytes, char **out,
				      size_t *out_len, char *err, size_t errlen)
{
	struct core_buf e, acc;
	char reason[SEARCH_PROMPT_REASON_SHOWN + 1];
	int nbad = 0, shown;
	enum core_status rc = CORE_OK;

	(void)spec;
	*out = NULL;
	for (int i = from; ps && i < ps->n; i++)
		nbad += ps->v[i].verdict != SEARCH_VERDICT_OK;
	core_buf_init(&acc, 4096);
	rc = core_buf_printf(&acc, "%s", "");
	if (!rc && accepted > 0) {
		int first = 1;

		rc = core_buf_printf(&acc, "Accepted so far this round: %d",
				     accepted);
		for (int i = from; ps && i < ps->n && !rc; i++) {
			if (ps->v[i].verdict != SEARCH_VERDICT_OK)
				continue;
			rc = core_buf_printf(&acc, "%scandidates[%d]",
					     first ? " (from this reply: "
						   : ", ",
					     ps->v[i].index);
			first = 0;
		}
		if (!rc)
			rc = core_buf_printf(&acc,
					     "%s; do not send them again.\n",
					     first ? "" : ")");
	}
	if (rc) {
		core_buf_free(&acc);
		core_errf(err, errlen, "out of memory");
		return CORE_ERR_NOMEM;
	}
	/* Drop error lines from the end until the message fits. */
	for (shown = problem ? 1 : nbad; shown >= 0; shown--) {
		int listed = 0;

		core_buf_init(&e, SEARCH_PROMPT_MAX_BYTES);
		if (problem) {
			search_copy_text(reason, sizeof reason, problem,
					 strlen(problem), 1);
			rc = shown ? core_buf_printf(&e, "- %s", reason)
				   : core_buf_printf(&e, "- (not shown)");
		}
		for (int i = from; !problem && ps && i < ps->n && !rc; i++) {
			const struct search_proposal *p = &ps->v[i];
			if (p->verdict == SEARCH_VERDICT_OK)
				continue;
			if (listed == shown)
				break;
			search_copy_text(reason, sizeof reason, p->reason,
					 strlen(p->reason), 1);
			rc = core_buf_printf(&e, "%s- candidates[%d] (%s): %s",
					     listed ? "\n" : "", p->index,
					     search_verdict_name(p->verdict),
					     reason);
			listed++;
		}
		if (!rc && !problem && shown < nbad)
			rc = core_buf_printf(&e,
					     "%s(%d more problem%s not "
					     "shown)",
					     listed ? "\n" : "", nbad - shown,
					     nbad - shown == 1 ? "" : "s");
		if (!rc && !e.data)
			rc = core_buf_printf(&e, "- (no usable candidate)");
		if (rc) {
			core_buf_free(&e);
			break;
		}
		rc = repair_render(e.data, acc.data, needed, max_bytes, out,
				   out_len, err, errlen);
		core_buf_free(&e);
		if (rc != CORE_ERR_NOMEM)
			break;
		rc = CORE_OK; /* too long: one line fewer */
		if (shown == 0) {
			rc = CORE_ERR_NOMEM;
			break;
		}
	}
	core_buf_free(&acc);
	if (rc == CORE_ERR_NOMEM)
		core_errf(err, errlen,
			  "out of memory, or the repair message does not fit "
			  "in %zu bytes",
			  max_bytes);
	return rc;
}
