# One-command entry points for a new user; the build itself is CMake.
#   make train   install dependencies, build, fetch MNIST, train the design's network
#   make test    the same set-up, then every test
BUILD_DIR ?= build
DATA_DIR ?= data/mnist
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build data train test clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

data:
	scripts/fetch-mnist.sh $(DATA_DIR)

train: build data
	scripts/train-design.sh $(BUILD_DIR)/cnn $(DATA_DIR)

test: build data
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR)
