#!/bin/sh
# Runs in the release, once it has its name: leaves a mark the tests look for.
echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $HOST_ID $GROUP $REGION" > after_install.ran
echo "after_install of $BUILD_ID"
