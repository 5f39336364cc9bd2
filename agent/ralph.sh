#!/usr/bin/env bash
# The Ralph loop: run the agent again and again on the same prompt until the validation
# command passes (checked by this script, never taken from the agent's word) or the iteration
# budget is spent.
#   bash agent/ralph.sh [CONFIG]            (default: agent/ralph.conf; see that file)
# Exit status: 0 when VALIDATE_CMD passed, 1 when MAX_ITERATIONS ran out, 2 on bad config.
set -uo pipefail
CONFIG="${1:-agent/ralph.conf}"
[ -f "$CONFIG" ] || { echo "ralph: config $CONFIG not found" >&2; exit 2; }
# shellcheck source=agent/ralph.conf
source "$CONFIG"
for var in PROMPT_FILE MAX_ITERATIONS COMPLETION_PROMISE VALIDATE_CMD AGENT_CMD; do
    [ -n "${!var:-}" ] || { echo "ralph: $var is not set in $CONFIG" >&2; exit 2; }
done
[ -f "$PROMPT_FILE" ] || { echo "ralph: prompt file $PROMPT_FILE not found" >&2; exit 2; }
LOG_DIR="${LOG_DIR:-agent/logs}"
VALIDATE_EVERY="${VALIDATE_EVERY:-0}"
mkdir -p "$LOG_DIR"
FEEDBACK="$LOG_DIR/validation_feedback.txt"
rm -f "$FEEDBACK"

log() { echo "[ralph $(date -Is)] $*"; }

for ((i = 1; i <= MAX_ITERATIONS; i++)); do
    log "iteration $i/$MAX_ITERATIONS"
    out="$LOG_DIR/iteration_$i.log"
    {
        cat "$PROMPT_FILE"
        if [ -f "$FEEDBACK" ]; then
            printf '\nThe previous iteration claimed completion, but the validation command failed:\n'
            printf '  %s\nLast lines of its output:\n' "$VALIDATE_CMD"
            cat "$FEEDBACK"
        fi
    } | bash -c "$AGENT_CMD" > "$out" 2>&1
    log "agent exited with status $? (log: $out)"
    claimed=0
    grep -qF -- "$COMPLETION_PROMISE" "$out" && claimed=1
    if [ "$claimed" = 1 ] || [ "$VALIDATE_EVERY" = 1 ]; then
        [ "$claimed" = 1 ] && log "the agent claims completion; validating: $VALIDATE_CMD"
        vlog="$LOG_DIR/validation_$i.log"
        if bash -c "$VALIDATE_CMD" > "$vlog" 2>&1; then
            log "validation passed: done after $i iteration(s)"
            rm -f "$FEEDBACK"
            exit 0
        fi
        log "validation FAILED (log: $vlog): continuing"
        tail -n 40 "$vlog" > "$FEEDBACK"
    fi
done
log "no passing validation after $MAX_ITERATIONS iterations"
exit 1
