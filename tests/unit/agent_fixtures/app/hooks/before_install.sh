#!/bin/sh
# Runs in the staging directory, before the release has its name.
echo "before_install of $BUILD_ID in $RELEASE_DIR"
