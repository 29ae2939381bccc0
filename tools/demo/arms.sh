# Sourced by tools/demo.sh: one event (a live migration or a suspend/resume)
# of one arm's guest, judged through the time probe, appended as one JSON
# line to $work/events.jsonl. Needs: S bin ROOT work guest[] loc[] watch_s
# suspend_s mig_port (set by demo.sh / stack.sh).
#
# Every event starts from the same place in every arm: the guest is first
# lined up with the host by one virDomainSetTime(now) (the judge measures how
# well: `before`), so what the judge sees after the event is what the event
# and that arm's repair left, not what earlier events accumulated.

uri_of() { "$S" uri "$1" "$ROOT"; }
probe_of() { "$S" probe-socket "$1" "$2" "$ROOT"; }

fmt_us() {  # µs (may be fractional/negative) -> "+12 µs", "-81.3 ms", "-3.002 s"
  awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x;
    if (a >= 1e6) printf "%+.3f s", x / 1e6; else if (a >= 1e3) printf "%+.2f ms", x / 1e3; else printf "%+.0f µs", x }'
}

run_event() {
  local arm=$1 kind=$2 i=$3 of=$4 name=${guest[$1]} src=${loc[$1]} dst before wpid spid settime="null"
  "$bin/migclock-settime-now" --uri "$(uri_of "$src")" --domain "$name" --wait-s 30 >/dev/null \
    || { warn "$arm $kind $i: could not line the guest up before the event"; return 1; }
  before=$("$bin/migclock-timeprobe" measure --socket "$(probe_of "$src" "$name")") \
    || { warn "$arm $kind $i: time probe failed before the event"; return 1; }
  # The judge watches from before the event: the guest's first answer
  # after it was paused marks the resume (on a migration's destination, its
  # first answer at all).
  dst=$src; [ "$kind" = migration ] && dst=$((1 - src))
  "$bin/migclock-timeprobe" watch --socket "$(probe_of "$dst" "$name")" \
    --await-resume "$([ "$kind" = migration ] && echo first || echo gap)" --gap-ms 1000 --wait-ms 120000 \
    --seconds "$watch_s" > "$work/watch.json" 2>"$work/watch.err" &
  wpid=$!
  # settime_now at its best: set the moment libvirt shows the domain
  # running again on the destination, not when virsh migrate returns
  # (measured: that is 1.6-1.8 s after the guest resumed).
  # domtime_sync likewise, as `virsh domtime --sync` (the guest reads its RTC).
  if [ "$arm" = settime_now ] || [ "$arm" = domtime_sync ]; then
    "$bin/migclock-settime-now" --await-resume --uri "$(uri_of "$dst")" --domain "$name" --wait-s 30 \
      $([ "$arm" = domtime_sync ] && echo --sync) > "$work/settime.json" 2>"$work/settime.err" &
    spid=$!
  fi
  if [ "$kind" = migration ]; then
    # One retry: with busy guests the destination QEMU was once not yet
    # listening on the migration port (refused; libvirt aborted cleanly).
    MIGCLOCK_GUEST_COMPANION=$(companion_env "$arm") "$S" migrate "$src" "$dst" "$name" "$mig_port" "$ROOT" >"$work/migrate.out" 2>&1 \
      || { warn "$arm migration $i: virsh migrate failed, once more in 1 s: $(tail -1 "$work/migrate.out")"; sleep 1
           MIGCLOCK_GUEST_COMPANION=$(companion_env "$arm") "$S" migrate "$src" "$dst" "$name" "$mig_port" "$ROOT" >"$work/migrate.out" 2>&1; } \
      || { warn "$arm migration $i: virsh migrate failed: $(cat "$work/migrate.out")"; kill $wpid ${spid:-} 2>/dev/null; wait $wpid ${spid:-} 2>/dev/null; return 1; }
  else
    sleep 0.2   # the watch sees the guest answering before it is paused
    virsh -q -c "$(uri_of "$src")" suspend "$name" >/dev/null \
      || { warn "$arm suspend $i: virsh suspend failed"; kill $wpid ${spid:-} 2>/dev/null; wait $wpid ${spid:-} 2>/dev/null; return 1; }
    sleep "$suspend_s"
    virsh -q -c "$(uri_of "$src")" resume "$name" >/dev/null \
      || { warn "$arm suspend $i: virsh resume failed"; kill $wpid ${spid:-} 2>/dev/null; wait $wpid ${spid:-} 2>/dev/null; return 1; }
  fi
  loc[$arm]=$dst
  if [ -n "${spid:-}" ]; then
    wait $spid || { warn "$arm $kind $i: virDomainSetTime failed: $(cat "$work/settime.err")"; wait $wpid || true; return 1; }
    settime=$(cat "$work/settime.json")
  fi
  wait $wpid || { warn "$arm $kind $i: time probe failed after the event: $(cat "$work/watch.err")"; return 1; }
  jq -c -n --arg arm "$arm" --arg event "$kind" --argjson index "$i" --argjson before "$before" \
    --slurpfile watch "$work/watch.json" --argjson settime "$settime" --argjson from "$src" --argjson to "$dst" \
    '{arm: $arm, event: $event, index: $index, from_daemon: $from, to_daemon: $to, before: $before,
      watch: $watch[0], settime: $settime}' >> "$work/events.jsonl"
  local w; w=$(cat "$work/watch.json")
  printf '  %-11s %-9s %d/%d  before %s  after %ss: %s ±%s  within 1 ms: %s  100 µs: %s\n' "$arm" "$kind" "$i" "$of" \
    "$(fmt_us "$(jq .offset_us <<<"$before")")" "$watch_s" "$(fmt_us "$(jq .final.offset_us <<<"$w")")" \
    "$(fmt_us "$(jq .final.uncertainty_us <<<"$w")" | tr -d +)" \
    "$(jq -r 'if .to_1ms_ms == null then "never" else "\(.to_1ms_ms) ms" end' <<<"$w")" \
    "$(jq -r 'if .to_100us_ms == null then "never" else "\(.to_100us_ms) ms" end' <<<"$w")"
}
