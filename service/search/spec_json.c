/* SPDX-License-Identifier: Apache-2.0 */
/* spec_json.c - the job spec's defaults, target presets, canonical JSON and
 * its mapping to training and LLM client settings. */
#include "search/search.h"

#include <string.h>

const struct search_target search_targets[] = {
    {"stm32h743", 320u * 1024u, 1024u * 1024u, 100000000u},
    {"stm32f746", 320u * 1024u, 1024u * 1024u, 60000000u},
    {"stm32f412", 256u * 1024u, 1024u * 1024u, 30000000u},
    {NULL, 0, 0, 0}};

const struct search_target *search_target_find(const char *name)
{
	for (int i = 0; search_targets[i].name; i++)
		if (strcmp(search_targets[i].name, name) == 0)
			return &search_targets[i];
	return NULL;
}

static const char *const proposer_names[SEARCH_PROPOSER_COUNT] = {
    "llm", "evolution", "random"};

const char *search_proposer_kind_name(enum search_proposer_kind k)
{
	return (unsigned)k < SEARCH_PROPOSER_COUNT ? proposer_names[k] : "?";
}

enum core_status search_proposer_kind_parse(const char *s,
					    enum search_proposer_kind *out)
{
	for (int i = 0; i < SEARCH_PROPOSER_COUNT; i++) {
		if (strcmp(s, proposer_names[i]) == 0) {
			*out = (enum search_proposer_kind)i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

void search_spec_default(struct search_spec *s)
{
	const struct search_target *t = &search_targets[0];

	memset(s, 0, sizeof *s);
	s->dataset_kind = DATA_KIND_CIFAR100;
	space_default(&s->space);
	strcpy(s->constraints.target, t->name);
	s->constraints.max_macs = t->max_macs;
	s->constraints.max_sram = t->max_sram;
	s->constraints.max_flash = t->max_flash;
	s->proposer = SEARCH_PROPOSER_LLM;
	strcpy(s->llm.base_url, "http://127.0.0.1:11434/v1");
	strcpy(s->llm.model, "qwen2.5:7b");
	s->llm.temperature = 0.7;
	s->llm.candidates_per_round = 4;
	s->llm.max_tokens = 4096;
	s->llm.timeout_s = 300;
	s->llm.repair_attempts = 2;
	s->llm.prompt_token_budget = 6000;
	s->export.target = CODEGEN_TARGET_STM32H743;
	s->export.calibration_images = 500;
	s->export.calibration = SEARCH_CALIBRATION_MINMAX;
	s->export.percentile = 99.99;
	s->export.test_images = 3;
	s->export.eval_images = 1000;
	s->evolution.population = 20;
	s->evolution.sample_size = 5;
	s->budget.rounds = 10;
	s->budget.max_candidates = 100;
	s->budget.proxy.epochs = 3;
	s->budget.proxy.train_fraction = 0.2;
	s->budget.proxy.resolution = 0;
	s->budget.proxy.batch = 128;
	s->budget.proxy.lr = 0.05;
	s->budget.final.top_k = 3;
	s->budget.final.epochs = 50;
	s->budget.final.kd_T = 4.0;
	s->budget.final.kd_alpha0 = 0.5;
	s->budget.final.kd_alpha1 = -1.0;
	s->budget.final.batch = 128;
	s->budget.final.lr = 0.05;
	s->threads = 0;
	s->seed = 1;
}

/* ---- canonical JSON ----------------------------------------------------- */

/* Adds key -> v to obj, stealing v; records a failure in *ok. */
static void put(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

static json_t *string_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

static json_t *limit(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

static json_t *llm_to_json(const struct search_llm_spec *m)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (!ok)
		return NULL;
	put(o, "base_url", json_string(m->base_url), &ok);
	put(o, "model", json_string(m->model), &ok);
	put(o, "api_key_env", string_or_null(m->api_key_env), &ok);
	put(o, "temperature", json_real(m->temperature), &ok);
	put(o, "candidates_per_round", json_integer(m->candidates_per_round),
	    &ok);
	put(o, "max_tokens", json_integer(m->max_tokens), &ok);
	put(o, "timeout_s", json_integer(m->timeout_s), &ok);
	put(o, "repair_attempts", json_integer(m->repair_attempts), &ok);
	put(o, "prompt_token_budget", json_integer(m->prompt_token_budget),
	    &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *budget_to_json(const struct search_budget *b)
{
	const struct search_final_spec *f = &b->final;
	json_t *o = json_object(), *p = json_object(), *fj = json_object();
	int ok = o && p && fj;

	if (!ok) {
		json_decref(o);
		json_decref(p);
		json_decref(fj);
		return NULL;
	}
	put(p, "epochs", json_integer(b->proxy.epochs), &ok);
	put(p, "train_fraction", json_real(b->proxy.train_fraction), &ok);
	put(p, "resolution", json_integer(b->proxy.resolution), &ok);
	put(p, "batch", json_integer(b->proxy.batch), &ok);
	put(p, "lr", json_real(b->proxy.lr), &ok);
	put(fj, "top_k", json_integer(f->top_k), &ok);
	put(fj, "epochs", json_integer(f->epochs), &ok);
	put(fj, "teacher_logits", string_or_null(f->teacher_logits), &ok);
	put(fj, "kd_T", json_real(f->kd_T), &ok);
	if (f->kd_alpha1 < 0)
		put(fj, "kd_alpha", json_real(f->kd_alpha0), &ok);
	else
		put(fj, "kd_alpha",
		    json_pack("[ff]", f->kd_alpha0, f->kd_alpha1), &ok);
	put(fj, "batch", json_integer(f->batch), &ok);
	put(fj, "lr", json_real(f->lr), &ok);
	put(o, "rounds", json_integer(b->rounds), &ok);
	put(o, "max_candidates", json_integer(b->max_candidates), &ok);
	put(o, "proxy", p, &ok);
	put(o, "final", fj, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *constraints_to_json(const struct search_constraints *c)
{
	json_t *o = json_object();
	int ok = o != NULL;

	if (!ok)
		return NULL;
	put(o, "target", string_or_null(c->target), &ok);
	put(o, "max_macs", limit(c->max_macs), &ok);
	put(o, "max_sram", limit(c->max_sram), &ok);
	put(o, "max_flash", limit(c->max_flash), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *search_spec_to_json(const struct search_spec *s)
{
	const struct search_constraints *c = &s->constraints;
	json_t *o = json_object();
	int ok = o != NULL;

	if (!ok)
		return NULL;
	put(o, "name", json_string(s->name), &ok);
	{
		json_t *d = json_pack("{s:s,s:s}", "kind",
				      data_kind_name(s->dataset_kind), "path",
				      s->dataset_path);
		if (d && s->dataset_id > 0)
			json_object_set_new(d, "id",
					    json_integer(s->dataset_id));
		if (d && s->dataset_classes > 0)
			json_object_set_new(d, "classes",
					    json_integer(s->dataset_classes));
		put(o, "dataset", d, &ok);
	}
	put(o, "space", space_to_json(&s->space), &ok);
	put(o, "constraints", constraints_to_json(c), &ok);
	put(o, "proposer", json_string(search_proposer_kind_name(s->proposer)),
	    &ok);
	put(o, "llm", llm_to_json(&s->llm), &ok);
	put(o, "evolution",
	    json_pack("{s:i,s:i}", "population", s->evolution.population,
		      "sample_size", s->evolution.sample_size),
	    &ok);
	put(o, "budget", budget_to_json(&s->budget), &ok);
	put(o, "export",
	    json_pack(
		"{s:s,s:i,s:s,s:f,s:i,s:i}", "target",
		codegen_target_name(s->export.target), "calibration_images",
		s->export.calibration_images, "calibration",
		s->export.calibration == SEARCH_CALIBRATION_PERCENTILE
		    ? "percentile"
		    : "minmax",
		"percentile", s->export.percentile, "test_images",
		s->export.test_images, "eval_images", s->export.eval_images),
	    &ok);
	put(o, "threads", json_integer(s->threads), &ok);
	put(o, "seed", json_integer((json_int_t)s->seed), &ok);
	/* only when set: specs without one keep their canonical form */
	if (s->webhook_url[0])
		put(o, "webhook", json_pack("{s:s}", "url", s->webhook_url),
		    &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- mappings ----------------------------------------------------------- */

void search_spec_limits(const struct search_spec *s, struct search_limits *l)
{
	l->max_macs = (double)s->constraints.max_macs;
	l->max_sram = (double)s->constraints.max_sram;
	l->max_flash = (double)s->constraints.max_flash;
}

int search_spec_classes(const struct search_spec *s)
{
	if (s->dataset_classes > 0)
		return s->dataset_classes;
	return data_kind_classes(s->dataset_kind);
}

void search_spec_train_config(const struct search_spec *s,
			      enum search_phase phase, struct train_config *c)
{
	train_config_default(c);
	c->data_dir = s->dataset_path;
	c->kind = s->dataset_kind;
	c->threads = s->threads;
	c->seed = s->seed;
	if (phase == SEARCH_PHASE_PROXY) {
		const struct search_proxy_spec *p = &s->budget.proxy;

		c->train_fraction = p->train_fraction;
		c->resolution = p->resolution;
		c->epochs = p->epochs;
		c->batch = p->batch;
		c->lr = p->lr;
		c->teacher_logits = NULL;
		c->eval_test = 0;
	} else {
		const struct search_final_spec *f = &s->budget.final;

		c->train_fraction = 1.0;
		c->resolution = 0;
		c->epochs = f->epochs;
		c->batch = f->batch;
		c->lr = f->lr;
		c->teacher_logits =
		    *f->teacher_logits ? f->teacher_logits : NULL;
		c->kd_temperature = f->kd_T;
		c->kd_alpha0 = f->kd_alpha0;
		c->kd_alpha1 = f->kd_alpha1;
		c->eval_test = 1;
	}
}

void search_spec_llm_settings(const struct search_spec *s, const char *api_key,
			      struct llm_settings *out)
{
	llm_settings_default(out);
	out->base_url = s->llm.base_url;
	out->model = s->llm.model;
	out->api_key = api_key;
	out->temperature = s->llm.temperature;
	out->max_tokens = s->llm.max_tokens;
	out->timeout_ms = (long)s->llm.timeout_s * 1000L;
	/* the worst case per round that the spec checks assumes these */
	out->max_attempts = SEARCH_LLM_ATTEMPTS;
	out->retry_after_max_ms = SEARCH_LLM_WAIT_MAX_S * 1000L;
	/* jitter differs per job but is reproducible; 0 would mean "clock" */
	out->seed = s->seed ? s->seed : 1;
}
