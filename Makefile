# SPDX-License-Identifier: Apache-2.0
# Makefile - builds the `lmnas` binary, its tests and benchmarks.
#
#   make run     install deps, build, start a private PostgreSQL under ./var/,
#                migrate, serve on 127.0.0.1:8080
#   make test    install deps, build with ASan+UBSan, run every test (last
#                line: N passed, N failed, N skipped; LMNAS_ALLOWED_SKIPS),
#                the Node contract tests (tests/contract/) after the C ones;
#                `npm ci` first when node_modules is older than the lock
#   make bench   benchmarks (figures printed, not asserted)
#   make bench-train  lmnas' training step vs PyTorch's, tuned and default
#                (images/s, RSS); committed outputs in bench/results/
#   make load    HTTP load (wrk) on serve while a job trains in it:
#                requests/s, p50/p99, errors, training images/s idle vs
#                loaded (tools/load.sh; about 10 minutes; writes
#                bench/results/load-DATE.txt)
#   make lint    clang-format --dry-run --Werror and cppcheck
#   make clean   remove every build output

SHELL := /bin/bash
BUILD ?= build
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc) --no-print-directory
endif
.DEFAULT_GOAL := build

PKGS := libmicrohttpd jansson libcurl libpq libzip openblas libcrypto libarchive \
	libpng libjpeg
DEPS_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -fopenmp -Iservice \
	-I$(BUILD)/gen $(DEPS_CFLAGS)
LIBS := $(DEPS_LIBS) -fopenmp -lm -lpthread

RELEASE_CFLAGS := $(BASE_CFLAGS) -O2 -march=x86-64-v3
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-march=x86-64-v3
ASAN_LDFLAGS := -fsanitize=address,undefined
# nn kernels: FP operations never trap (lmnas uses no FP exceptions), which
# lets GCC if-convert and vectorise the activation branches. Unlike
# -ffast-math this keeps NaN/Inf semantics, so isfinite() checks still work.
$(BUILD)/release/service/nn/%.o: RELEASE_CFLAGS += -fno-trapping-math
$(BUILD)/asan/service/nn/%.o: ASAN_CFLAGS += -fno-trapping-math
# the fused kernels (nn_view.h) let a * b + c become one FMA: their vector
# loops and the activations' polynomials halve their arithmetic
NN_FUSED := bnview dwfused pointwise se_view
$(NN_FUSED:%=$(BUILD)/release/service/nn/%.o): RELEASE_CFLAGS += -ffp-contract=fast
$(NN_FUSED:%=$(BUILD)/asan/service/nn/%.o): ASAN_CFLAGS += -ffp-contract=fast

LIB_SRC := $(sort $(filter-out service/main.c,$(wildcard service/*/*.c)))
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
API_FILES := $(sort $(wildcard api/*.yaml api/*/*.yaml))
KERNEL_FILES := $(sort $(wildcard service/codegen/kernels/*.[ch]))
TARGET_FILES := $(sort $(wildcard service/codegen/targets/*/*))
PROMPTS := $(sort $(wildcard prompts/*.txt))
TEMPLATE_FILES := $(sort $(wildcard service/codegen/templates/*))
GEN_SRC := $(BUILD)/gen/migrations_embedded.c $(BUILD)/gen/api_embedded.c \
	$(BUILD)/gen/kernels_embedded.c $(BUILD)/gen/prompts_embedded.c
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC := $(sort $(wildcard tests/integration/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
NODE_TESTS := $(sort $(wildcard tests/contract/*.test.mjs))

REL_OBJ := $(patsubst %.c,$(BUILD)/release/%.o,$(LIB_SRC) $(GEN_SRC))
ASAN_OBJ := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRC) $(GEN_SRC))
ASAN_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/asan/%.o,$(SUPPORT_SRC))
UNIT_BIN := $(patsubst tests/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))
INTEG_BIN := $(patsubst tests/%.c,$(BUILD)/asan/tests/%,$(INTEG_SRC))
BENCH_BIN := $(patsubst tests/%.c,$(BUILD)/release/tests/%,$(BENCH_SRC))

.PHONY: build deps deps-bench run test test-build bench bench-train load lint clean format

deps:
	@bash scripts/deps.sh

deps-bench:
	@bash scripts/deps.sh --bench

build: $(BUILD)/release/lmnas

$(BUILD)/gen/migrations_embedded.c: $(MIGRATIONS) scripts/embed_migrations.sh
	@mkdir -p $(@D)
	$(Q)bash scripts/embed_migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/api_embedded.c: $(API_FILES) scripts/embed_api.sh
	@mkdir -p $(@D)
	bash scripts/embed_api.sh api $(API_FILES) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/kernels_embedded.c: $(KERNEL_FILES) $(TARGET_FILES) $(TEMPLATE_FILES) LICENSE scripts/embed_files.sh
	@mkdir -p $(@D)
	$(Q){ bash scripts/embed_files.sh codegen_kernel_files service/codegen/ $(KERNEL_FILES) && \
	  bash scripts/embed_files.sh codegen_target_files service/codegen/ $(TARGET_FILES) && \
	  bash scripts/embed_files.sh codegen_template_files service/codegen/ $(TEMPLATE_FILES) && \
	  bash scripts/embed_files.sh codegen_licence_files '' LICENSE; } > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/prompts_embedded.c: $(PROMPTS) scripts/embed_files.sh
	@mkdir -p $(@D)
	$(Q)bash scripts/embed_files.sh --header search/search_internal.h \
	  --struct search_prompt_file search_prompt_files prompts/ $(PROMPTS) \
	  > $@.tmp && mv $@.tmp $@

$(BUILD)/release/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo '  CC      $<',:)
	$(Q)$(CC) $(RELEASE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo '  CC/asan $<',:)
	$(Q)$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/release/liblmnas.a: $(REL_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/liblmnas.a: $(ASAN_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/release/lmnas: $(BUILD)/release/service/main.o $(BUILD)/release/liblmnas.a
	@$(if $(Q),echo '  LD      $@',:)
	$(Q)$(CC) -o $@ $^ $(LIBS)

$(BUILD)/asan/lmnas: $(BUILD)/asan/service/main.o $(BUILD)/asan/liblmnas.a
	@$(if $(Q),echo '  LD      $@',:)
	$(Q)$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/asan/tests/%: $(BUILD)/asan/tests/%.o $(ASAN_SUPPORT_OBJ) $(BUILD)/asan/liblmnas.a
	@$(if $(Q),echo '  LD      $@',:)
	$(Q)$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# benchmarks link the library only (the test support is not built -O2)
$(BUILD)/release/tests/%: $(BUILD)/release/tests/%.o $(BUILD)/release/liblmnas.a
	@$(if $(Q),echo '  LD      $@',:)
	$(Q)$(CC) -o $@ $^ $(LIBS)

run: deps build
	@bash scripts/run.sh

test-build: $(BUILD)/asan/lmnas $(UNIT_BIN) $(INTEG_BIN)

# The contract tests' npm packages, exactly as package-lock.json pins them:
# npm ci reinstalls when node_modules is missing or older than the lock (npm
# ci writes node_modules/.package-lock.json; touch marks the install done).
node_modules/.package-lock.json: package.json package-lock.json
	@echo '  NPM     ci'
	$(Q)npm ci --no-audit --no-fund --loglevel=error
	$(Q)touch $@

test: deps
	@$(MAKE) --no-print-directory test-build node_modules/.package-lock.json
	@BUILD=$(BUILD) bash tests/run.sh $(UNIT_BIN) $(INTEG_BIN) --node $(NODE_TESTS)

bench: deps-bench
	@$(MAKE) --no-print-directory build $(BENCH_BIN)
	@bash tests/bench/run.sh $(filter-out %/bench_train,$(BENCH_BIN))
	@BUILD=$(BUILD) bash tests/bench/bench_train.sh

bench-train: deps
	@$(MAKE) --no-print-directory $(BUILD)/release/tests/bench/bench_train
	@BUILD=$(BUILD) bash tests/bench/bench_train.sh

load: deps-bench
	@$(MAKE) --no-print-directory build
	@LMNAS=$(BUILD)/release/lmnas bash tools/load.sh

lint:
	clang-format --dry-run --Werror $(LIB_SRC) service/main.c $(wildcard service/*/*.h) \
		$(UNIT_SRC) $(INTEG_SRC) $(SUPPORT_SRC) $(wildcard tests/support/*.h)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
		-i service/codegen/templates --suppress=ctuuninitvar \
		--inline-suppr -Iservice service tests

format:
	clang-format -i $(LIB_SRC) service/main.c $(wildcard service/*/*.h) \
		$(UNIT_SRC) $(INTEG_SRC) $(SUPPORT_SRC) $(wildcard tests/support/*.h)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
