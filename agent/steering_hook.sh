#!/usr/bin/env bash
# Claude Code PostToolUse hook: steer a running agent without attaching to its tmux session.
# At most every STEERING_PULL_SECONDS (default 300) it pulls the repository (fast-forward
# only); whenever STEERING.md differs from the last version the agent saw, its text is injected
# into the conversation (hookSpecificOutput.additionalContext). Otherwise it prints nothing.
# Register it in .claude/settings.json (see agent/settings.json). To steer: edit STEERING.md,
# commit and push; the agent sees it after its next tool call following the next pull.
set -uo pipefail
cat > /dev/null  # the hook's JSON input is not needed
REPO="${CLAUDE_PROJECT_DIR:-$PWD}"
STEERING="$REPO/${STEERING_FILE:-STEERING.md}"
STATE_DIR="${STEERING_STATE_DIR:-$REPO/.git/steering}"
INTERVAL="${STEERING_PULL_SECONDS:-300}"
mkdir -p "$STATE_DIR"

now=$(date +%s)
last=$(cat "$STATE_DIR/last_pull" 2>/dev/null || echo 0)
if (( now - last >= INTERVAL )); then
    echo "$now" > "$STATE_DIR/last_pull"
    git -C "$REPO" pull --ff-only --quiet > "$STATE_DIR/pull.log" 2>&1 || true
fi

[ -f "$STEERING" ] || exit 0
hash=$(sha256sum "$STEERING" | cut -d' ' -f1)
[ "$hash" = "$(cat "$STATE_DIR/seen" 2>/dev/null)" ] && exit 0
echo "$hash" > "$STATE_DIR/seen"
python3 -c '
import json, sys
text = open(sys.argv[1]).read()
msg = "New steering instructions (STEERING.md changed); they override the next steps:\n\n" + text
print(json.dumps({"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": msg}}))
' "$STEERING"
