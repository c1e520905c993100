# Body of the app instances' user data. lib/app-user-data.ts prepends the shebang,
# `set -euo pipefail` and the tier's parameters (TIER, REGION, IMAGE, CONTAINER_PORT,
# HEALTH_PATH, LOG_GROUP, STACK_NAME, SIGNAL_RESOURCE, TARGET_GROUP_ARN, CONTAINER_ENVIRONMENT),
# and inlines the watchdog script. Amazon Linux 2023 runs it once, as root, on first boot.

readonly CONTAINER="goal-tracker-${TIER}"
readonly SERVICE="${CONTAINER}.service"
readonly WATCHDOG=/usr/local/bin/goal-tracker-watchdog
readonly CWAGENT_CONFIG=/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
readonly HEALTHY_WAIT_ATTEMPTS=60 # x 5 s: the image's start-up plus three health checks
# x 10 s: registration once InService, then the target group's healthy threshold (2 x 30 s at
# most), with room to spare inside the 15-minute signal timeout.
readonly TARGET_WAIT_ATTEMPTS=36
readonly CFN_SIGNAL=/opt/aws/bin/cfn-signal

signal_cloudformation() {
  "$CFN_SIGNAL" --exit-code "$1" --stack "$STACK_NAME" --resource "$SIGNAL_RESOURCE" \
    --region "$REGION"
}

# Any failure reports to CloudFormation at once, so a rolling update that cannot become
# healthy rolls back now instead of after the signal timeout.
fail() {
  echo "goal-tracker bootstrap failed: $1" >&2
  if [[ -x "$CFN_SIGNAL" ]]; then signal_cloudformation 1 || true; fi
  exit 1
}
trap 'fail "command failed at line $LINENO"' ERR

retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if "$@"; then return 0; fi
    echo "attempt ${attempt} failed: $*" >&2
    sleep $((attempt * 5))
  done
  return 1
}

imds() {
  local token
  token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')"
  curl -fsS -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}

# shellcheck disable=SC2317 # only ever called through retry
ecr_login() {
  aws ecr get-login-password --region "$REGION" |
    docker login --username AWS --password-stdin "${IMAGE%%/*}"
}

target_health() {
  aws elbv2 describe-target-health --region "$REGION" --target-group-arn "$TARGET_GROUP_ARN" \
    --targets "Id=${instance_id},Port=${CONTAINER_PORT}" \
    --query 'TargetHealthDescriptions[0].TargetHealth.State' --output text
}

container_health() {
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$CONTAINER"
}

retry dnf install -y docker aws-cfn-bootstrap amazon-cloudwatch-agent
systemctl enable --now docker

# Memory and root-disk usage per Auto Scaling group, for the dashboard (EC2 has no such metric).
# omit_hostname: the group dimension alone, so metrics aggregate across instances instead of
# one series per host that the dashboard's per-group queries would never match.
cat >"$CWAGENT_CONFIG" <<'JSON'
{
  "agent": { "omit_hostname": true },
  "metrics": {
    "namespace": "CWAgent",
    "append_dimensions": { "AutoScalingGroupName": "${aws:AutoScalingGroupName}" },
    "aggregation_dimensions": [["AutoScalingGroupName"]],
    "metrics_collected": {
      "mem": { "measurement": ["mem_used_percent"] },
      "disk": { "measurement": ["used_percent"], "resources": ["/"] }
    }
  }
}
JSON
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c "file:${CWAGENT_CONFIG}"

instance_id="$(imds instance-id)"
retry ecr_login
retry docker pull "$IMAGE"

env_args=()
for variable in "${CONTAINER_ENVIRONMENT[@]}"; do env_args+=(--env "$variable"); done

# The container is created once, here, where bash does the quoting; systemd only starts and
# stops it. Docker's own restart policy stays off: systemd restarts it (Restart=always).
docker rm --force "$CONTAINER" >/dev/null 2>&1 || true
docker create --name "$CONTAINER" \
  "${env_args[@]}" \
  --publish "${CONTAINER_PORT}:${CONTAINER_PORT}" \
  --log-driver awslogs \
  --log-opt "awslogs-region=${REGION}" \
  --log-opt "awslogs-group=${LOG_GROUP}" \
  --log-opt "awslogs-stream=${instance_id}" \
  --health-cmd "node -e \"fetch('http://127.0.0.1:${CONTAINER_PORT}${HEALTH_PATH}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))\"" \
  --health-interval 15s --health-timeout 5s --health-retries 3 --health-start-period 30s \
  --stop-timeout 10 \
  --restart no \
  "$IMAGE" >/dev/null

cat >"/etc/systemd/system/${SERVICE}" <<UNIT
[Unit]
Description=Goal Tracker ${TIER} container
Requires=docker.service
After=docker.service

[Service]
ExecStart=/usr/bin/docker start --attach ${CONTAINER}
ExecStop=/usr/bin/docker stop --time 10 ${CONTAINER}
Restart=always
RestartSec=5
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
UNIT

# Docker only marks a container unhealthy; outside Swarm nothing acts on it. This timer does.
cat >"$WATCHDOG" <<'WATCHDOG'
@@CONTAINER_WATCHDOG@@
WATCHDOG
chmod 0755 "$WATCHDOG"

cat >"/etc/systemd/system/${CONTAINER}-watchdog.service" <<UNIT
[Unit]
Description=Restart ${CONTAINER} when its health check fails

[Service]
Type=oneshot
ExecStart=${WATCHDOG} ${CONTAINER} ${SERVICE}
UNIT

cat >"/etc/systemd/system/${CONTAINER}-watchdog.timer" <<UNIT
[Unit]
Description=Check ${CONTAINER} health every 30 seconds

[Timer]
OnActiveSec=60s
OnUnitActiveSec=30s
AccuracySec=5s

[Install]
WantedBy=timers.target
UNIT

systemctl daemon-reload
systemctl enable --now "$SERVICE" "${CONTAINER}-watchdog.timer"

# CloudFormation hears "success" only once the load balancer sends the instance traffic: the
# container answers its own check first, then the target group's check of the same path.
container_ready=false
for ((attempt = 1; attempt <= HEALTHY_WAIT_ATTEMPTS; attempt++)); do
  if [[ "$(container_health || true)" == healthy ]]; then
    container_ready=true
    break
  fi
  sleep 5
done
[[ "$container_ready" == true ]] || fail "${CONTAINER} did not become healthy"

for ((attempt = 1; attempt <= TARGET_WAIT_ATTEMPTS; attempt++)); do
  if [[ "$(target_health || true)" == healthy ]]; then
    signal_cloudformation 0
    exit 0
  fi
  sleep 10
done
fail "${instance_id}:${CONTAINER_PORT} did not become healthy in its target group"
