# Thin wrapper around CMake. `make demo` and `make test` are the two commands
# a new user needs; both install missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local
CMAKE_OPTS ?=

# Everything the build, the tests and the demo need (Debian bookworm).
# chromium, chromium-driver, python3-selenium: the web console's browser test (96).
DEPS = build-essential cmake pkg-config \
       libzmq3-dev libmsgpack-dev libconfig-dev libcurl4-openssl-dev \
       libcmocka-dev libxml2-dev libsqlite3-dev libsodium-dev \
       libutf8proc-dev libjansson-dev libsystemd-dev \
       libnats-dev nats-server libmosquitto-dev mosquitto mosquitto-clients \
       libmicrohttpd-dev \
       python3 python3-zmq python3-msgpack python3-aiosmtpd \
       procps psmisc systemd \
       chromium chromium-driver python3-selenium
BENCH_DEPS = nginx-light mosquitto mosquitto-clients libmosquitto-dev \
             urlwatch time linux-perf gnuplot-nox
FUZZ_DEPS  = clang libclang-rt-14-dev

.PHONY: all deps deps-bench deps-fuzz build build-asan build-tsan test test-fast \
        test-asan test-tsan demo bench bench-quick soak fuzz install clean

all: build

deps:
	@tools/install-deps.sh $(DEPS)

deps-bench:
	@tools/install-deps.sh $(DEPS) $(BENCH_DEPS)

deps-fuzz:
	@tools/install-deps.sh $(DEPS) $(FUZZ_DEPS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_OPTS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVEILLE_SANITIZE=ON $(CMAKE_OPTS)

$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEILLE_TSAN=ON $(CMAKE_OPTS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

build-tsan: $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS)

# The whole suite once normally, once under ASan+UBSan, then the threaded
# tests (ctest label tsan) under ThreadSanitizer; warnings are errors in all
# three builds (VEILLE_WERROR=ON), unlike `make build`. Ends with ctest's counts.
test: deps
	@tools/run-tests.sh $(BUILD) $(ASAN_BUILD) $(JOBS) $(TSAN_BUILD)

# One pass, normal build only (for the edit-compile-test loop).
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test-tsan: build-tsan
	cd $(TSAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L tsan

demo: deps build
	@tools/demo.sh $(BUILD)

bench: deps-bench build
	@bench/run.sh $(BUILD) full

bench-quick: deps-bench build
	@bench/run.sh $(BUILD) quick

soak: deps build
	@tests/soak/run.sh $(BUILD) long

fuzz: deps-fuzz
	@tests/fuzz/run.sh long

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
