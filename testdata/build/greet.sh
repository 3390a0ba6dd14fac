#!/bin/sh
echo "$GREETING from $(cat /app/built.txt), as $(id -un)"
