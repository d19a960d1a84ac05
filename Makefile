# SPDX-License-Identifier: Apache-2.0
# prosec: `make run` runs the main job, `make test` builds and runs every
# test (plain, then under ASan+UBSan).  Both install what is missing first.
BUILD       ?= build
SAN_BUILD   ?= build-san
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all setup build run test bench install fuzz clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -DPROSEC_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@BUILD=$(BUILD) scripts/run

test: setup
	@BUILD=$(BUILD) SAN_BUILD=$(SAN_BUILD) JOBS=$(JOBS) scripts/test

bench: build
	@$(BUILD)/bench/bench_crypto
	@echo
	@$(BUILD)/bench/bench_group

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
