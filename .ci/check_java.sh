#!/usr/bin/env bash
# Spark 4.2 needs Java 17 or newer: say exactly how to get it when it is missing.
set -euo pipefail
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "Java 17+ is required by Spark and was not found." >&2
  echo "Install it (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17)" >&2
  echo "or set JAVA_HOME to a JDK 17+ installation." >&2
  exit 1
fi
major=$("$java_bin" -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
if [ "${major:-0}" -lt 17 ]; then
  echo "Java $major found; Spark needs Java 17+. Install openjdk-17 or point JAVA_HOME at it." >&2
  exit 1
fi
