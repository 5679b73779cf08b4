#!/bin/bash
# franz-go's own transaction integration tests (TestTxn* in pkg/kgo) against a
# zkraft node: `make test-franz-txn`. Not part of `make test` (minutes, network
# of its own). The module source is copied from the module cache to a temp dir
# (the cache is read-only), a combined broker+controller is started there with
# the built binary, and the tests run with KGO_SEEDS pointing at it.
#
# Environment: ZKRAFT (the binary, default bin/zkraft), FRANZ_VERSION (default
# the go.mod version), KGO_TEST_RECORDS (default 20000), RUN (default TestTxn).
set -eu
ZKRAFT=$(realpath "${ZKRAFT:-bin/zkraft}")
FRANZ_VERSION=${FRANZ_VERSION:-$(go list -m -f '{{.Version}}' github.com/twmb/franz-go)}
RUN=${RUN:-TestTxn}
src=$(go env GOMODCACHE)/github.com/twmb/franz-go@$FRANZ_VERSION
[ -d "$src" ] || go mod download github.com/twmb/franz-go@"$FRANZ_VERSION"
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	chmod -R u+w "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cp -r "$src" "$tmp/franz-go"
chmod -R u+w "$tmp/franz-go"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ZKRAFT" serve \
	--override listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport \
	--override controller.quorum.voters=1@127.0.0.1:$cport \
	--override log.dirs="$tmp/kafka-logs" --override metadata.log.dir="$tmp/metadata" \
	--override offsets.topic.replication.factor=1 --override transaction.state.log.replication.factor=1 \
	--override transaction.state.log.min.isr=1 --override group.initial.rebalance.delay.ms=0 \
	>"$tmp/zkraft.log" 2>&1 &
pid=$!
i=0
until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "zkraft did not start"; tail -50 "$tmp/zkraft.log"; exit 1; }
	sleep 0.1
done
echo "zkraft on 127.0.0.1:$port; franz-go $FRANZ_VERSION: go test -run '$RUN' ./pkg/kgo"
status=0
(cd "$tmp/franz-go" && KGO_SEEDS=127.0.0.1:$port KGO_TEST_RF=1 KGO_TEST_RECORDS=${KGO_TEST_RECORDS:-20000} \
	go test -count=1 -timeout 15m -run "$RUN" -v ./pkg/kgo) || status=$?
[ $status -eq 0 ] || { echo "--- zkraft log tail"; tail -80 "$tmp/zkraft.log"; }
exit $status
