#!/usr/bin/env bash
# Runs inside the benchmark's network namespace (started by bench/run, which sets BENCH_*).
# Starts the servers, runs every (repetition, concurrency, target) point alternating
# targets, and writes raw oha JSON plus per-point CPU/RSS meta under $BENCH_OUT/raw.
set -euo pipefail
: "${BENCH_OUT:?} ${BENCH_BIN:?} ${BENCH_DIR:?}"
W=$BENCH_OUT
RAW=$W/raw LOGS=$W/logs
mkdir -p "$RAW" "$LOGS" "$W/certs" "$W/nginx" "$W/mitm"
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

# 10,000 SSE streams need 10,000+ descriptors in the client and in shunt: take the hard limit.
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if ((NOFILE < BENCH_SSE_STREAMS + 200)); then
    log "open-file limit $NOFILE is below $BENCH_SSE_STREAMS streams + 200"
fi
sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
    net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 2>/dev/null || true
CLK_TCK=$(getconf CLK_TCK)

NGX_HTTP=18000 NGX_TLS=18443 SHUNT_UP=18080 SHUNT_UPW=18081 SHUNT_BUILTIN=18082 SHUNT_SSE=18083 SHUNT_NEWHOST=18084
SHUNT_REC=18085
MOCK_SHUNT=18090 MOCK_FASTAPI=18091 MITM=18070
MODEL=gemini-2.0-flash
VPATH=/v1/projects/bench/locations/us-central1/publishers/google/models/$MODEL:generateContent
APATH=/v1beta/models/$MODEL:generateContent
VHOST=us-central1-aiplatform.googleapis.com
BODY='{"contents":[{"role":"user","parts":[{"text":"Say something for the benchmark."}]}]}'
# What nginx answers on any path: a Gemini reply of the same shape as shunt's mock.
GEMINI_JSON='{"candidates":[{"content":{"role":"model","parts":[{"text":"the quick brown fox jumps over a lazy dog while seven bright stars shine above quiet hills and rivers run toward distant oceans under silver"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":31,"totalTokenCount":40},"modelVersion":"gemini-2.0-flash"}'

wait_port() { # wait_port PORT [PID]
    local i
    for i in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        if [[ -n ${2:-} ]] && ! kill -0 "$2" 2>/dev/null; then log "process $2 for port $1 died"; return 1; fi
        sleep 0.1
    done
    log "port $1 never opened"
    return 1
}

# ---- nginx: plain and TLS (RSA-2048 leaf from a throwaway CA), any path → Gemini JSON -------
N=$W/nginx
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-direct-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout "$N/ca.key" -out "$N/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$N/leaf.key" -out "$N/leaf.csr" 2>/dev/null
# The leaf also names the Vertex host: `shunt --record` verifies it as that host.
printf 'subjectAltName=IP:127.0.0.1,DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$VHOST" >"$N/ext"
openssl x509 -req -in "$N/leaf.csr" -CA "$N/ca.pem" -CAkey "$N/ca.key" -CAcreateserial -days 2 \
    -extfile "$N/ext" -out "$N/leaf.pem" 2>/dev/null
cat >"$N/nginx.conf" <<NGX
worker_processes auto;
pid $N/nginx.pid;
error_log $LOGS/nginx-error.log warn;
daemon off;
events { worker_connections 16384; }
worker_rlimit_nofile $NOFILE;
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $N/tmp;
    server {
        listen 127.0.0.1:$NGX_HTTP backlog=65535 reuseport;
        listen 127.0.0.1:$NGX_TLS ssl backlog=65535 reuseport;
        ssl_certificate $N/leaf.pem;
        ssl_certificate_key $N/leaf.key;
        location / {
            default_type application/json;
            return 200 '$GEMINI_JSON';
        }
    }
}
NGX
mkdir -p "$N/tmp"
"$BENCH_NGINX" -c "$N/nginx.conf" -p "$N" >"$LOGS/nginx.out" 2>&1 &
NGINX_PID=$!; pids+=($NGINX_PID)
wait_port $NGX_HTTP $NGINX_PID
wait_port $NGX_TLS $NGINX_PID

# ---- shunt instances ----------------------------------------------------------------------
CERTS=$W/certs
shunt_start() { # shunt_start NAME PORT ARGS... ; sets LAST_PID
    "$BENCH_SHUNT" serve --listen "127.0.0.1:$2" --certs "$CERTS" --grace-period 1 "${@:3}" \
        2>>"$LOGS/$1.log" &
    LAST_PID=$!; pids+=($LAST_PID)
    wait_port "$2" $LAST_PID
}
shunt_start shunt-upstream $SHUNT_UP --upstream http://127.0.0.1:$NGX_HTTP; SHUNT_UP_PID=$LAST_PID
shunt_start shunt-upstream-logwarn $SHUNT_UPW --upstream http://127.0.0.1:$NGX_HTTP --log warn; SHUNT_UPW_PID=$LAST_PID
shunt_start shunt-builtin $SHUNT_BUILTIN; SHUNT_BUILTIN_PID=$LAST_PID
# Record mode: the same nginx over verified TLS, every exchange stored as a file.
shunt_start shunt-record $SHUNT_REC --record "$W/recordings" --origin-override "$VHOST=127.0.0.1:$NGX_TLS" \
    --origin-ca "$N/ca.pem"; SHUNT_REC_PID=$LAST_PID
# Scenario 4 has its own instance: thousands of minted leaves stay in its memory, which
# would otherwise show in the peak RSS of every later point of scenario 1 and 3.
shunt_start shunt-newhost $SHUNT_NEWHOST --upstream http://127.0.0.1:$NGX_HTTP; SHUNT_NEWHOST_PID=$LAST_PID
"$BENCH_SHUNT" mock --listen 127.0.0.1:$MOCK_SHUNT --grace-period 1 2>>"$LOGS/shunt-mock.log" &
MOCK_SHUNT_PID=$!; pids+=($MOCK_SHUNT_PID)
wait_port $MOCK_SHUNT $MOCK_SHUNT_PID
(cd "$BENCH_DIR/lib" && exec "$BENCH_DIR/.venv-fastapi/bin/uvicorn" fastapi_mock:app \
    --host 127.0.0.1 --port $MOCK_FASTAPI >>"$LOGS/fastapi.log" 2>&1) &
MOCK_FASTAPI_PID=$!; pids+=($MOCK_FASTAPI_PID)
wait_port $MOCK_FASTAPI $MOCK_FASTAPI_PID

MITM_PID=""
if [[ $BENCH_MITM == 1 ]]; then
    BENCH_UPSTREAM=127.0.0.1:$NGX_HTTP "$BENCH_DIR/.venv-mitm/bin/mitmdump" \
        --listen-host 127.0.0.1 --listen-port $MITM --set confdir="$W/mitm" \
        --set connection_strategy=lazy --set upstream_cert=false \
        -s "$BENCH_DIR/lib/mitm_rewrite.py" >>"$LOGS/mitmproxy.log" 2>&1 &
    MITM_PID=$!; pids+=($MITM_PID)
    wait_port $MITM $MITM_PID
    for _ in $(seq 1 100); do [[ -s $W/mitm/mitmproxy-ca-cert.pem ]] && break; sleep 0.1; done
    "$BENCH_DIR/.venv-mitm/bin/mitmdump" --version 2>/dev/null | head -1 >"$W/mitm/version" || true
fi

# Sanity: every path answers 200 once before measuring (a scenario that cannot complete
# shows here, with the server's log, rather than as an empty table row).
probe() { oha -n 1 -c 1 --no-tui --no-pre-lookup -m POST -T application/json -d "$BODY" "$@" 2>&1 |
    grep -q '\[200\] 1 responses'; }
probe_all() {
    local ok=0
    probe -x http://127.0.0.1:$SHUNT_UP --cacert "$CERTS/ca.pem" "https://$VHOST$VPATH" || { log "probe: shunt upstream failed"; ok=1; }
    probe -x http://127.0.0.1:$SHUNT_BUILTIN --cacert "$CERTS/ca.pem" "https://$VHOST$VPATH" || { log "probe: shunt builtin failed"; ok=1; }
    probe --cacert "$N/ca.pem" "https://127.0.0.1:$NGX_TLS$APATH" || { log "probe: nginx TLS failed"; ok=1; }
    probe "http://127.0.0.1:$MOCK_SHUNT$APATH" || { log "probe: shunt mock failed"; ok=1; }
    probe "http://127.0.0.1:$MOCK_FASTAPI$APATH" || { log "probe: fastapi failed"; ok=1; }
    if [[ -n $MITM_PID ]]; then
        probe -x http://127.0.0.1:$MITM --cacert "$W/mitm/mitmproxy-ca-cert.pem" "https://$VHOST$VPATH" || { log "probe: mitmproxy failed"; ok=1; }
    fi
    return $ok
}
probe_all || { log "a server does not answer; see $LOGS"; exit 2; }

# ---- measurement helpers -------------------------------------------------------------------
cpu_ticks() { # utime+stime of the given pids, summed (children threads included)
    local t=0 p
    for p in "$@"; do
        [[ -r /proc/$p/stat ]] || continue
        t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
    done
    echo $t
}
reset_hwm() { local p; for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done; }
hwm_kb() { local t=0 p v; for p in "$@"; do v=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done; echo $t; }
nginx_pids() { echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; }

# Target table: NAME|PIDS-EXPR|oha arguments (the URL last).
S_CA=$CERTS/ca.pem
# oha's --rand-regex-url takes `.` literally (and mangles `\.`): a new 10-letter host each time.
RANDHOST="https://[a-z]{10}-aiplatform.googleapis.com$VPATH"
targets=(
    "ka.direct-http|nginx|http://127.0.0.1:$NGX_HTTP$APATH"
    "ka.direct-tls|nginx|--cacert $N/ca.pem https://127.0.0.1:$NGX_TLS$APATH"
    "ka.shunt-upstream|$SHUNT_UP_PID|-x http://127.0.0.1:$SHUNT_UP --cacert $S_CA https://$VHOST$VPATH"
    "ka.shunt-upstream-logwarn|$SHUNT_UPW_PID|-x http://127.0.0.1:$SHUNT_UPW --cacert $S_CA https://$VHOST$VPATH"
    "ka.shunt-builtin|$SHUNT_BUILTIN_PID|-x http://127.0.0.1:$SHUNT_BUILTIN --cacert $S_CA https://$VHOST$VPATH"
    "ka.shunt-record|$SHUNT_REC_PID|-x http://127.0.0.1:$SHUNT_REC --cacert $S_CA https://$VHOST$VPATH"
    "new.direct-http|nginx|--disable-keepalive http://127.0.0.1:$NGX_HTTP$APATH"
    "new.direct-tls|nginx|--disable-keepalive --cacert $N/ca.pem https://127.0.0.1:$NGX_TLS$APATH"
    "new.shunt-upstream|$SHUNT_UP_PID|--disable-keepalive -x http://127.0.0.1:$SHUNT_UP --cacert $S_CA https://$VHOST$VPATH"
    "new.shunt-upstream-logwarn|$SHUNT_UPW_PID|--disable-keepalive -x http://127.0.0.1:$SHUNT_UPW --cacert $S_CA https://$VHOST$VPATH"
    "newhost.shunt-upstream|$SHUNT_NEWHOST_PID|--disable-keepalive -x http://127.0.0.1:$SHUNT_NEWHOST --cacert $S_CA --rand-regex-url $RANDHOST"
    "mock.shunt-mock|$MOCK_SHUNT_PID|http://127.0.0.1:$MOCK_SHUNT$APATH"
    "mock.fastapi|$MOCK_FASTAPI_PID|http://127.0.0.1:$MOCK_FASTAPI$APATH"
)
if [[ -n $MITM_PID ]]; then
    M_CA=$W/mitm/mitmproxy-ca-cert.pem
    targets+=(
        "ka.mitmproxy|$MITM_PID|-x http://127.0.0.1:$MITM --cacert $M_CA https://$VHOST$VPATH"
        "new.mitmproxy|$MITM_PID|--disable-keepalive -x http://127.0.0.1:$MITM --cacert $M_CA https://$VHOST$VPATH"
        "newhost.mitmproxy|$MITM_PID|--disable-keepalive -x http://127.0.0.1:$MITM --cacert $M_CA --rand-regex-url $RANDHOST"
    )
fi

point() { # point NAME PIDS C REP OHA-ARGS...
    local name=$1 pidexpr=$2 c=$3 rep=$4; shift 4
    local ps; if [[ $pidexpr == nginx ]]; then ps=$(nginx_pids); else ps=$pidexpr; fi
    local f=$RAW/$name.c$c.r$rep
    reset_hwm $ps
    local t0 t1 rc=0 w0 w1
    t0=$(cpu_ticks $ps); w0=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout $((BENCH_DURATION + 90)) oha --no-tui --no-pre-lookup --output-format json -w -t 30s \
        -z "${BENCH_DURATION}s" -c "$c" -m POST -T application/json -d "$BODY" "$@" >"$f.json" 2>"$f.err" || rc=$?
    t1=$(cpu_ticks $ps); w1=$(date +%s.%N)
    printf '{"target":"%s","c":%s,"rep":%s,"rc":%s,"cpu_ticks":%s,"clk_tck":%s,"hwm_kb":%s,"wall_s":%s,"pids":"%s"}\n' \
        "$name" "$c" "$rep" "$rc" $((t1 - t0)) "$CLK_TCK" "$(hwm_kb $ps)" \
        "$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b-a}')" "$ps" >"$f.meta.json"
    # Keep server logs from filling the disk: they are appended to, so truncation is safe.
    for l in "$LOGS"/shunt-*.log "$LOGS"/fastapi.log "$LOGS"/mitmproxy.log; do
        [[ -f $l ]] && (($(stat -c %s "$l") > 50000000)) && : >"$l"
    done
    log "$name c=$c rep=$rep: $(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); s = d["summary"]; print("%.0f req/s, ok %.1f%%, status %s, errors %s" % (s["requestsPerSec"], s["successRate"] * 100, d["statusCodeDistribution"], d["errorDistribution"]))' "$f.json" 2>/dev/null || echo "oha exit $rc, no result")"
}

# ---- request/response scenarios, alternating targets ------------------------------------
for rep in $(seq 1 "$BENCH_REPS"); do
    for c in $BENCH_CONC; do
        for t in "${targets[@]}"; do
            IFS='|' read -r name pidexpr args <<<"$t"
            [[ -z ${BENCH_ONLY:-} || $name =~ $BENCH_ONLY ]] || continue
            set -f # the random-host URL is a regex, not a glob
            # shellcheck disable=SC2086
            point "$name" "$pidexpr" "$c" "$rep" $args
            set +f
        done
    done
done

# ---- profile (optional): perf samples of shunt while oha drives it ------------------------
if [[ $BENCH_PROFILE == 1 ]] && command -v perf >/dev/null; then
    for spec in "ka|64|" "new|16|--disable-keepalive" "newhost|16|--disable-keepalive"; do
        IFS='|' read -r pname pc pargs <<<"$spec"
        url="https://$VHOST$VPATH"; extra=()
        [[ $pname == newhost ]] && extra=(--rand-regex-url) && url=$RANDHOST
        for variant in info warn; do
            pid=$SHUNT_UP_PID port=$SHUNT_UP
            [[ $variant == warn ]] && pid=$SHUNT_UPW_PID port=$SHUNT_UPW
            perf record -e cpu-clock -F 1999 -g -p "$pid" -o "$W/perf-$pname-$variant.data" -- sleep $((BENCH_DURATION)) \
                >/dev/null 2>&1 &
            perf_pid=$!
            # shellcheck disable=SC2086
            oha --no-tui --no-pre-lookup -z "${BENCH_DURATION}s" -c "$pc" $pargs -m POST -T application/json -d "$BODY" \
                -x "http://127.0.0.1:$port" --cacert "$S_CA" "${extra[@]}" "$url" >"$W/perf-$pname-$variant.oha.txt" 2>&1 || true
            wait $perf_pid || true
            {
                echo "# shunt, $pname c=$pc --log $variant: share of on-CPU samples by binary, then by symbol"
                perf report -i "$W/perf-$pname-$variant.data" --stdio --no-children --sort dso -g none 2>/dev/null |
                    grep -v '^#' | grep -v '^$' | head -8 | cut -c1-100
                perf report -i "$W/perf-$pname-$variant.data" --stdio --no-children --sort symbol -g none \
                    --percent-limit 0.4 2>/dev/null | grep -v '^#' | grep -v '^$' | head -70 | cut -c1-170 | sed 's/ *$//'
                grep -m1 'Requests/sec' "$W/perf-$pname-$variant.oha.txt" || true
            } >"$W/profile-$pname-$variant.txt"
            log "profile $pname ($variant): $W/profile-$pname-$variant.txt"
        done
    done
fi

# Machine facts for the report.
{
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "kernel=$(uname -r)"
    echo "oha=$(oha --version 2>/dev/null | head -1)"
    echo "nginx=$("$BENCH_NGINX" -v 2>&1 | head -1)"
    echo "mitmproxy=$(cat "$W/mitm/version" 2>/dev/null)"
    echo "fastapi=$("$BENCH_DIR/.venv-fastapi/bin/python" -c 'import fastapi, uvicorn; print(fastapi.__version__, "uvicorn", uvicorn.__version__)')"
    echo "build=$BENCH_BUILD"
    echo "mode=$BENCH_MODE"
    echo "duration=$BENCH_DURATION"
    echo "reps=$BENCH_REPS"
    echo "conc=$BENCH_CONC"
    echo "sse_streams=$BENCH_SSE_STREAMS"
    echo "only=${BENCH_ONLY:-}"
    echo "shunt=$BENCH_SHUNT"
    echo "tokio_worker_threads=${TOKIO_WORKER_THREADS:-}"
} >"$W/machine.txt"

# ---- scenario 5: SSE, N concurrent streams from the built-in mock (skipped by --only without sse)
if [[ -n ${BENCH_ONLY:-} && ! sse =~ $BENCH_ONLY ]]; then exit 0; fi
shunt_start shunt-sse $SHUNT_SSE --ttft 1s --gap 50ms --log warn; SHUNT_SSE_PID=$LAST_PID
sse_rc=0
c0=$(cpu_ticks $SHUNT_SSE_PID)
timeout 300 "$BENCH_BIN/examples/bench_sse" --proxy 127.0.0.1:$SHUNT_SSE --cacert "$S_CA" \
    --streams "$BENCH_SSE_STREAMS" --expect-chunks 6 --timeout 180 >"$RAW/sse.client.json" 2>"$RAW/sse.client.err" || sse_rc=$?
c1=$(cpu_ticks $SHUNT_SSE_PID)
printf '{"rc":%s,"cpu_ticks":%s,"clk_tck":%s,"hwm_kb":%s,"rss_kb_after":%s}\n' "$sse_rc" $((c1 - c0)) "$CLK_TCK" \
    "$(hwm_kb $SHUNT_SSE_PID)" "$(awk '/^VmRSS/ {print $2}' /proc/$SHUNT_SSE_PID/status)" >"$RAW/sse.meta.json"
log "sse: $(cat "$RAW/sse.client.json") rc=$sse_rc hwm=$(hwm_kb $SHUNT_SSE_PID) kB"

# The default shunt logs one line per exchange: note its size for the report.
for l in "$LOGS"/shunt-*.log; do echo "$(basename "$l"): $(wc -l <"$l") lines"; done >"$W/log-lines.txt"
exit 0
