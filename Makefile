# SPDX-License-Identifier: Apache-2.0
# Thin front door over CMake + Ninja. Every target installs missing Debian packages first.
BUILD       ?= build
CHECK_BUILD ?= build-check
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS        ?= $(shell nproc)

.PHONY: all build deps check unit demo bench fuzz format clean

all: build

build:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite, built with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror.
check:
	@scripts/deps.sh build check
	@scripts/checksrc.sh
	@cmake -S . -B $(CHECK_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSEKISHO_SANITIZE=ON \
		-DSEKISHO_WERROR=ON >/dev/null
	@cmake --build $(CHECK_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir $(CHECK_BUILD) --output-on-failure -j $(JOBS)

demo: build
	@scripts/deps.sh build demo
	@scripts/demo.sh $(BUILD)

bench:
	@scripts/deps.sh build bench
	@cmake -S . -B $(BUILD)-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEKISHO_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-bench -j $(JOBS)
	@scripts/bench.sh $(BUILD)-bench

fuzz:
	@scripts/deps.sh build fuzz
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSEKISHO_FUZZ=ON -DSEKISHO_SANITIZE=ON -DSEKISHO_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	@scripts/format.sh

clean:
	rm -rf $(BUILD) $(BUILD)-bench $(CHECK_BUILD) $(FUZZ_BUILD)
