/* SPDX-License-Identifier: Apache-2.0 */
/* spec.h - part of search.h: the job spec of a search (what to search, under
 * which limits, with which proposer and budget), parsed from JSON with
 * field-path errors, written back as canonical JSON, and mapped to the
 * settings of the training engine and of the LLM client.
 *
 * The JSON form (api/schemas/job.yaml documents the same, `$defs/JobSpec`).
 * Only `name` and `dataset.path` are required; every other member defaults:
 *
 *   {"name": "cifar100-h7",                  required, 1..127 bytes
 *    "dataset": {"kind": "cifar100",         cifar10 | cifar100
 *                "path": "/data/cifar-100"}, required, 1..1023 bytes,
 *                                            unless one of:
 *                "id": 7,                    a team's dataset (API only)
 *                "name": "parts-v1"},        the same by name
 *    "space": {...lmnas-space/1...},         default: space_default(); its
 *                                            channels must allow 3
 *    "constraints": {"target": "stm32h743",  preset (below) or null
 *                    "max_macs": 100000000,  MACs; integer or null
 *                    "max_sram": 327680,     bytes (peak SRAM arena)
 *                    "max_flash": 1048576},  bytes (int8 flash)
 *    "proposer": "llm",                      llm | evolution | random
 *    "llm": {"base_url": "http://127.0.0.1:11434/v1",
 *            "model": "qwen2.5:7b",
 *            "api_key_env": null,            NAME of an environment
 *                                            variable holding the key
 *            "temperature": 0.7,             0..2
 *            "candidates_per_round": 4,      1..32
 *            "max_tokens": 4096,             0 (server's choice)..1000000
 *            "timeout_s": 300,               1..3600, and the worst case
 *                                            per round within 4 h (below)
 *            "repair_attempts": 2,           0..10
 *            "prompt_token_budget": 6000},   1024..1000000 (bytes / 4)
 *    "evolution": {"population": 20,         2..1000
 *                  "sample_size": 5},        2..population
 *    "budget": {"rounds": 10,                1..1000
 *               "max_candidates": 100,       1..100000 (trained)
 *               "proxy": {"epochs": 3,       1..1000
 *                         "train_fraction": 0.2,  (0, 1]
 *                         "resolution": 0,   0 (the arch's) or 8..512
 *                         "batch": 128,      2..4096
 *                         "lr": 0.05},       (0, 10]
 *               "final": {"top_k": 3,        0..100 (0: no final training)
 *                         "epochs": 50,      1..10000
 *                         "teacher_logits": null,  .npy path or null
 *                         "kd_T": 4,         (0, 100]
 *                         "kd_alpha": 0.5,   [0, 1], or [a0, a1]: linear
 *                                            from a0 to a1 over the epochs
 *                         "batch": 128,
 *                         "lr": 0.05}},
 *    "export": {"target": "stm32h743",       stm32h743 | qemu: the board of
 *                                            the final models' projects
 *               "calibration_images": 500,   1..50000, training split
 *               "calibration": "minmax",     minmax | percentile
 *               "percentile": 99.99,         (50, 100), percentile only
 *               "test_images": 3,            1..16, embedded in the project
 *               "eval_images": 1000},        0..10000 test images behind the
 *                                            report's float/int8 top-1
 *    "threads": 0,                           0 (leave as is)..256
 *    "seed": 1}                              0..2^53-1
 *
 * The default proxy (3 epochs on 20% of the training split) ranked 12
 * CIFAR-100 architectures with Kendall tau-b 0.862 against a 4-epoch
 * training on 40%; 2 epochs on 10% (a third of the cost) gave 0.800
 * (tools/search_quality.py, README "search").
 *
 * Targets (SRAM and flash in KiB/MiB, MACs per inference):
 *   stm32h743  320 KiB SRAM, 1 MiB flash, 100 M MACs (the default)
 *   stm32f746  320 KiB SRAM, 1 MiB flash,  60 M MACs
 *   stm32f412  256 KiB SRAM, 1 MiB flash,  30 M MACs
 * A limit given explicitly overrides the target's; null removes it. Without
 * a target ("target": null) an absent limit is no limit.
 *
 * Reals are kept to 15 significant digits (what the canonical JSON
 * writes). Checks: unknown members, wrong JSON types (integers must be JSON
 * integers), values out of range, strings with control characters or too
 * long, base_url not http(s), api_key_env not an identifier (its value is
 * never quoted back, in case a key was pasted there), sample_size above
 * population. From text, also duplicate keys, nesting beyond 8, more than
 * SEARCH_SPEC_MAX_JSON_BYTES, NUL in strings (arch_json_load). Field paths:
 * "budget.proxy.epochs", "constraints.max_macs", "space.kernel[1]", "$".
 */
#ifndef LMNAS_SEARCH_SPEC_H
#define LMNAS_SEARCH_SPEC_H

#include "codegen/codegen.h"
#include "core/core.h"
#include "data/data.h"
#include "llm/llm.h"
#include "search/pareto.h"
#include "space/space.h"
#include "train/train.h"

#include <jansson.h>
#include <stdint.h>

#define SEARCH_SPEC_MAX_JSON_BYTES (128 * 1024)
#define SEARCH_NAME_MAX		   128	/* bytes, NUL included */
#define SEARCH_PATH_MAX		   1024 /* dataset.path, teacher_logits */
#define SEARCH_URL_MAX		   512
#define SEARCH_MODEL_MAX	   128
#define SEARCH_ENV_MAX		   128
#define SEARCH_TARGET_MAX	   32
#define SEARCH_MAX_K		   32 /* llm.candidates_per_round */
#define SEARCH_MAX_REPAIRS	   10
/* The LLM's worst case per round (a hung or failing server, job.yaml "Llm"):
 * (1 + llm.repair_attempts) calls x (SEARCH_LLM_ATTEMPTS +
 * LLM_FORMAT_FALLBACKS) requests x llm.timeout_s, plus
 * (SEARCH_LLM_ATTEMPTS - 1) x SEARCH_LLM_WAIT_MAX_S of retry waits per call,
 * must stay within SEARCH_LLM_ROUND_MAX_S. */
#define SEARCH_LLM_ATTEMPTS    4     /* requests per call for transients */
#define SEARCH_LLM_WAIT_MAX_S  60    /* one retry wait (Retry-After cap) */
#define SEARCH_LLM_ROUND_MAX_S 14400 /* 4 h */
#define SEARCH_MAX_SEED	       9007199254740991ULL /* 2^53 - 1 */
#define SEARCH_MAX_LIMIT       1000000000000000ULL /* 1e15 */

enum search_proposer_kind {
	SEARCH_PROPOSER_LLM = 0,
	SEARCH_PROPOSER_EVOLUTION,
	SEARCH_PROPOSER_RANDOM
};
#define SEARCH_PROPOSER_COUNT 3

/* "llm", "evolution", "random" (also the candidates.source values). */
const char *search_proposer_kind_name(enum search_proposer_kind k);
enum core_status search_proposer_kind_parse(const char *s,
					    enum search_proposer_kind *out);

/* A microcontroller preset. */
struct search_target {
	const char *name;
	uint64_t max_sram, max_flash, max_macs;
};

/* The preset called name, or NULL. */
const struct search_target *search_target_find(const char *name);
/* The presets, ending with a {NULL} entry. */
extern const struct search_target search_targets[];

struct search_constraints {
	char target[SEARCH_TARGET_MAX]; /* "" when null */
	uint64_t max_macs;		/* 0 = no limit */
	uint64_t max_sram;		/* bytes; 0 = no limit */
	uint64_t max_flash;		/* bytes; 0 = no limit */
};

struct search_llm_spec {
	char base_url[SEARCH_URL_MAX];
	char model[SEARCH_MODEL_MAX];
	char api_key_env[SEARCH_ENV_MAX]; /* "" when null: send no key */
	double temperature;
	int candidates_per_round;
	int max_tokens;
	int timeout_s;
	int repair_attempts;
	int prompt_token_budget;
};

struct search_evolution_spec {
	int population;	 /* P: the most recent P evaluated candidates */
	int sample_size; /* S: tournament size */
};

struct search_proxy_spec {
	int epochs;
	double train_fraction;
	int resolution; /* 0 = the architecture's */
	int batch;
	double lr;
};

struct search_final_spec {
	int top_k;
	int epochs;
	char teacher_logits[SEARCH_PATH_MAX]; /* "" when null */
	double kd_T;
	double kd_alpha0, kd_alpha1; /* kd_alpha1 < 0: constant kd_alpha0 */
	int batch;
	double lr;
};

enum search_calibration {
	SEARCH_CALIBRATION_MINMAX = 0,
	SEARCH_CALIBRATION_PERCENTILE
};

/* How the final models are exported (int8 quantization and the project). */
struct search_export_spec {
	enum codegen_target target;
	int calibration_images;
	enum search_calibration calibration;
	double percentile; /* read only with percentile calibration */
	int test_images;
	int eval_images;
};

struct search_budget {
	int rounds;
	int max_candidates;
	struct search_proxy_spec proxy;
	struct search_final_spec final;
};

struct search_spec {
	char name[SEARCH_NAME_MAX];
	enum data_kind dataset_kind;
	char dataset_path[SEARCH_PATH_MAX];
	/* dataset.id / dataset.name: a team's dataset (POST /v1/datasets)
	 * instead of a path; the server resolves the name to the id of a
	 * ready dataset and dataset_path to its cache (0 / "": none) */
	long long dataset_id;
	/* classes of a cache data set (kind cache: required, 2..10000; the
	 * API fills it from the dataset); 0: the kind's (CIFAR) */
	int dataset_classes;
	char dataset_name[65];
	struct space space;
	struct search_constraints constraints;
	enum search_proposer_kind proposer;
	struct search_llm_spec llm;
	struct search_evolution_spec evolution;
	struct search_budget budget;
	struct search_export_spec export;
	int threads;
	uint64_t seed;
	/* webhook.url: called on every status change of an API job ("":
	 * none); the server's allowlist is checked at submit (http) */
	char webhook_url[SEARCH_URL_MAX];
};

/* Fills s with every default (name and dataset.path ""). Cannot fail. */
void search_spec_default(struct search_spec *s);

/* Parses and checks a job spec. fe is cleared first and receives one entry
 * per problem; CORE_ERR_INVALID when there is any, CORE_ERR_NOMEM when
 * Jansson runs out of memory. *out is written only on success. A json_t
 * given directly cannot show duplicate keys any more (Jansson kept the
 * last): use search_spec_parse on outside text. */
enum core_status search_spec_from_json(const json_t *j, struct search_spec *out,
				       struct core_field_errors *fe);
enum core_status search_spec_parse(const char *text, size_t len,
				   struct search_spec *out,
				   struct core_field_errors *fe);

/* The canonical JSON object: every member present in the order above,
 * constraints with the target and the limits in force (null = none),
 * kd_alpha a number or [a0, a1], the space canonical (space_to_json).
 * Parsing it gives back the same spec. New reference owned by the caller;
 * NULL on out-of-memory. */
json_t *search_spec_to_json(const struct search_spec *s);

/* The limits as search_limits (0 = no limit) for pareto.h. */
void search_spec_limits(const struct search_spec *s, struct search_limits *l);

/* Classes of the data set (10 or 100). */
int search_spec_classes(const struct search_spec *s);

enum search_phase {
	SEARCH_PHASE_PROXY = 0, /* low-fidelity training of every candidate */
	SEARCH_PHASE_FINAL	/* full training of the top_k */
};

/* The training settings of a phase: train_config_default, then the data
 * set (data_dir points into s: s must outlive c), and for the proxy phase
 * epochs, train_fraction, resolution, batch, lr, no test evaluation, no
 * distillation; for the final phase train_fraction 1, the architecture's
 * resolution, epochs, batch, lr, the teacher (NULL when none, pointing
 * into s otherwise), kd_T and kd_alpha, test evaluation on. Both: threads
 * and seed; the rest (warmup 1 epoch, cosine, momentum, smoothing...) stays
 * at train_config_default. The result passes train_config_validate for
 * every spec that parsed. */
void search_spec_train_config(const struct search_spec *s,
			      enum search_phase phase, struct train_config *c);

/* Seconds an LLM round can take in the worst case (see
 * SEARCH_LLM_ROUND_MAX_S). */
long long search_llm_round_worst_s(const struct search_llm_spec *l);

/* The LLM client settings: llm_settings_default, then base_url, model
 * (pointing into s), api_key (the caller's value, typically
 * getenv(s->llm.api_key_env); NULL = none), temperature, max_tokens,
 * timeout_ms = timeout_s * 1000, seed. */
void search_spec_llm_settings(const struct search_spec *s, const char *api_key,
			      struct llm_settings *out);

#endif
