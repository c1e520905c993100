#!/bin/bash
# Restarts a container's systemd service when Docker reports the container unhealthy.
# Usage: goal-tracker-watchdog <container> <service>
set -euo pipefail

container="$1"
service="$2"

status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' \
  "$container" 2>/dev/null || true)"
if [[ "$status" == unhealthy ]]; then
  logger -t goal-tracker-watchdog "${container} is unhealthy; restarting ${service}"
  systemctl restart "$service"
fi
