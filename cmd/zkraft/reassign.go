package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const reassignUsage = `Usage (as kafka-reassign-partitions.sh):
  zkraft reassign-partitions --bootstrap-server H:P[,H:P] [--command-config client.properties] [--timeout 30s] VERB
  --generate --topics-to-move-json-file F --broker-list 4,5,6
        print the current assignment of the topics and a proposed one on the brokers
  --execute --reassignment-json-file F [--throttle BYTES_PER_SEC]
        start the reassignments of F (AlterPartitionReassignments); with --throttle, set
        leader/follower.replication.throttled.rate on the brokers and the topics'
        *.replication.throttled.replicas first (IncrementalAlterConfigs)
  --verify --reassignment-json-file F [--wait] [--preserve-throttles]
        each partition's progress; once all are done, remove the throttles; --wait polls
        (printing progress) until they are
  --cancel --reassignment-json-file F [--preserve-throttles]
        cancel the reassignments of F still in progress
  --list
        every reassignment in progress (ListPartitionReassignments)
`

// reassignJSON is Kafka's reassignment JSON (version 1), also the output
// of --generate and the rollback text of --execute.
type reassignJSON struct {
	Version    int                 `json:"version"`
	Partitions []reassignPartition `json:"partitions"`
}

type reassignPartition struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs,omitempty"`
}

// topicsToMoveJSON is --topics-to-move-json-file's shape.
type topicsToMoveJSON struct {
	Version int `json:"version"`
	Topics  []struct {
		Topic string `json:"topic"`
	} `json:"topics"`
}

func reassignMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("reassign-partitions", reassignUsage, stderr)
	generate := fs.Bool("generate", false, "propose a reassignment")
	execute := fs.Bool("execute", false, "start the reassignment of --reassignment-json-file")
	verify := fs.Bool("verify", false, "show the progress of --reassignment-json-file")
	cancelVerb := fs.Bool("cancel", false, "cancel the reassignments of --reassignment-json-file")
	list := fs.Bool("list", false, "list the reassignments in progress")
	topicsFile := fs.String("topics-to-move-json-file", "", "topics to move (--generate)")
	brokerList := fs.String("broker-list", "", "brokers to move to (--generate)")
	reassignFile := fs.String("reassignment-json-file", "", "Kafka's reassignment JSON")
	throttle := fs.Int64("throttle", -1, "replication throttle in bytes/s while the reassignment runs (--execute)")
	wait := fs.Bool("wait", false, "with --verify: poll until every reassignment is done")
	preserve := fs.Bool("preserve-throttles", false, "with --verify/--cancel: leave the throttles in place")
	fs.Lookup("timeout").Usage = "how long to wait (with --verify --wait: for the whole reassignment)"
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	verbs := 0
	for _, v := range []bool{*generate, *execute, *verify, *cancelVerb, *list} {
		if v {
			verbs++
		}
	}
	if verbs != 1 {
		return fs.usageError()
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	r := &reassigner{cl: cl, adm: adm, out: stdout, errOut: stderr}
	switch {
	case *list:
		return r.list(ctx)
	case *generate:
		if *topicsFile == "" || *brokerList == "" {
			return fmt.Errorf("reassign-partitions: --generate needs --topics-to-move-json-file and --broker-list")
		}
		return r.generate(ctx, *topicsFile, *brokerList)
	}
	if *reassignFile == "" {
		return fmt.Errorf("reassign-partitions: --execute, --verify and --cancel need --reassignment-json-file")
	}
	plan, err := readReassignJSON(*reassignFile)
	if err != nil {
		return err
	}
	switch {
	case *execute:
		return r.execute(ctx, plan, *throttle)
	case *verify:
		return r.verify(ctx, plan, *wait, *preserve)
	default:
		return r.cancel(ctx, plan, *preserve)
	}
}

type reassigner struct {
	cl     *kgo.Client
	adm    *kadm.Client
	out    io.Writer
	errOut io.Writer
}

func readReassignJSON(path string) (reassignJSON, error) {
	var plan reassignJSON
	data, err := os.ReadFile(path)
	if err != nil {
		return plan, fmt.Errorf("reassign-partitions: %w", err)
	}
	if err := json.Unmarshal(data, &plan); err != nil {
		return plan, fmt.Errorf("reassign-partitions: %s is not Kafka's reassignment JSON: %w", path, err)
	}
	if len(plan.Partitions) == 0 {
		return plan, fmt.Errorf("reassign-partitions: %s names no partitions", path)
	}
	seen := map[string]bool{}
	for _, p := range plan.Partitions {
		key := fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		if seen[key] {
			return plan, fmt.Errorf("reassign-partitions: %s names partition %s twice", path, key)
		}
		seen[key] = true
		if len(p.Replicas) == 0 {
			return plan, fmt.Errorf("reassign-partitions: %s gives partition %s no replicas", path, key)
		}
	}
	return plan, nil
}

func encodeReassign(ps []reassignPartition) string {
	for i := range ps {
		if ps[i].LogDirs == nil {
			ps[i].LogDirs = slices.Repeat([]string{"any"}, len(ps[i].Replicas))
		}
	}
	data, _ := json.Marshal(reassignJSON{Version: 1, Partitions: ps}) // plain structs
	return string(data)
}

// current returns the current replicas of every partition of topics.
func (r *reassigner) current(ctx context.Context, topics ...string) ([]reassignPartition, error) {
	md, err := r.adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("reassign-partitions: metadata: %w", err)
	}
	var out []reassignPartition
	for _, t := range md.Topics.Sorted() {
		if t.Err != nil {
			return nil, fmt.Errorf("reassign-partitions: topic %s: %w", t.Topic, t.Err)
		}
		for _, p := range t.Partitions.Sorted() {
			out = append(out, reassignPartition{Topic: t.Topic, Partition: p.Partition, Replicas: slices.Clone(p.Replicas)})
		}
	}
	return out, nil
}

func planTopics(plan reassignJSON) []string {
	m := map[string]bool{}
	for _, p := range plan.Partitions {
		m[p.Topic] = true
	}
	return slices.Sorted(maps.Keys(m))
}

// generate proposes the topics' partitions on the brokers of brokerList,
// keeping each partition's replication factor: replica i of partition p
// on broker (p+i) mod n, the brokers sorted (Kafka's rack-unaware
// placement with start index 0 and no shift).
func (r *reassigner) generate(ctx context.Context, topicsFile, brokerList string) error {
	data, err := os.ReadFile(topicsFile)
	if err != nil {
		return fmt.Errorf("reassign-partitions: %w", err)
	}
	var tm topicsToMoveJSON
	if err := json.Unmarshal(data, &tm); err != nil || len(tm.Topics) == 0 {
		return fmt.Errorf("reassign-partitions: %s is not a topics-to-move JSON ({\"version\":1,\"topics\":[{\"topic\":\"t\"}]}): %v", topicsFile, err)
	}
	var brokers []int32
	for _, s := range strings.Split(brokerList, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return fmt.Errorf("reassign-partitions: --broker-list %q: %q is not a broker id", brokerList, s)
		}
		if slices.Contains(brokers, int32(id)) {
			return fmt.Errorf("reassign-partitions: --broker-list %q names broker %d twice", brokerList, id)
		}
		brokers = append(brokers, int32(id))
	}
	slices.Sort(brokers)
	var topics []string
	for _, t := range tm.Topics {
		topics = append(topics, t.Topic)
	}
	cur, err := r.current(ctx, topics...)
	if err != nil {
		return err
	}
	var proposed []reassignPartition
	for _, p := range cur {
		rf := len(p.Replicas)
		if rf > len(brokers) {
			return fmt.Errorf("reassign-partitions: %s-%d has %d replicas, --broker-list only %d brokers", p.Topic, p.Partition, rf, len(brokers))
		}
		replicas := make([]int32, rf)
		for i := range replicas {
			replicas[i] = brokers[(int(p.Partition)+i)%len(brokers)]
		}
		proposed = append(proposed, reassignPartition{Topic: p.Topic, Partition: p.Partition, Replicas: replicas})
	}
	fmt.Fprintf(r.out, "Current partition replica assignment\n%s\n\nProposed partition reassignment configuration\n%s\n",
		encodeReassign(cur), encodeReassign(proposed))
	return nil
}

// execute prints the current assignment (the rollback file), sets the
// throttles if asked, and starts the reassignments.
func (r *reassigner) execute(ctx context.Context, plan reassignJSON, throttle int64) error {
	cur, err := r.current(ctx, planTopics(plan)...)
	if err != nil {
		return err
	}
	curOf := map[string][]int32{}
	for _, p := range cur {
		curOf[fmt.Sprintf("%s-%d", p.Topic, p.Partition)] = p.Replicas
	}
	var rollback []reassignPartition
	for _, p := range plan.Partitions {
		key := fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		replicas, ok := curOf[key]
		if !ok {
			return fmt.Errorf("reassign-partitions: partition %s does not exist", key)
		}
		rollback = append(rollback, reassignPartition{Topic: p.Topic, Partition: p.Partition, Replicas: replicas})
	}
	fmt.Fprintf(r.out, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n",
		encodeReassign(rollback))
	if throttle >= 0 {
		if err := r.setThrottles(ctx, plan, curOf, throttle); err != nil {
			return err
		}
	}
	var req kadm.AlterPartitionAssignmentsReq
	for _, p := range plan.Partitions {
		req.Assign(p.Topic, p.Partition, p.Replicas)
	}
	resps, err := r.adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return fmt.Errorf("reassign-partitions: AlterPartitionReassignments: %w", err)
	}
	var started, failed []string
	for _, res := range resps.Sorted() {
		key := fmt.Sprintf("%s-%d", res.Topic, res.Partition)
		if res.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v %s", key, res.Err, res.ErrMessage))
			continue
		}
		started = append(started, key)
	}
	if len(started) > 0 {
		fmt.Fprintf(r.out, "Successfully started partition reassignments for %s\n", strings.Join(started, ","))
	}
	if len(failed) > 0 {
		return fmt.Errorf("reassign-partitions: error reassigning partition(s):\n%s", strings.Join(failed, "\n"))
	}
	return nil
}

// setThrottles sets Kafka's throttle configs (ReassignPartitionsCommand's
// modifyReassignmentThrottle and modifyTopicThrottles): the rate on every
// broker the partitions move from or to, the leader side on the current
// replicas, the follower side on the moving-in ones.
func (r *reassigner) setThrottles(ctx context.Context, plan reassignJSON, curOf map[string][]int32, rate int64) error {
	brokers := map[int32]bool{}
	leaders := map[string][]string{}
	followers := map[string][]string{}
	for _, p := range plan.Partitions {
		cur := curOf[fmt.Sprintf("%s-%d", p.Topic, p.Partition)]
		for _, b := range cur {
			brokers[b] = true
			leaders[p.Topic] = append(leaders[p.Topic], fmt.Sprintf("%d:%d", p.Partition, b))
		}
		for _, b := range p.Replicas {
			brokers[b] = true
			if !slices.Contains(cur, b) {
				followers[p.Topic] = append(followers[p.Topic], fmt.Sprintf("%d:%d", p.Partition, b))
			}
		}
	}
	v := strconv.FormatInt(rate, 10)
	ids := slices.Sorted(maps.Keys(brokers))
	_, err := r.adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "leader.replication.throttled.rate", Value: &v},
		{Op: kadm.SetConfig, Name: "follower.replication.throttled.rate", Value: &v},
	}, ids...)
	if err != nil {
		return throttleErr(err)
	}
	for _, t := range planTopics(plan) {
		l, f := strings.Join(leaders[t], ","), strings.Join(followers[t], ",")
		cfgs := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "leader.replication.throttled.replicas", Value: &l}}
		if f != "" {
			cfgs = append(cfgs, kadm.AlterConfig{Op: kadm.SetConfig, Name: "follower.replication.throttled.replicas", Value: &f})
		}
		res, err := r.adm.AlterTopicConfigs(ctx, cfgs, t)
		if err == nil {
			err = firstAlterErr(res)
		}
		if err != nil {
			return throttleErr(err)
		}
	}
	fmt.Fprintf(r.out, "The inter-broker throttle limit was set to %d B/s\n", rate)
	return nil
}

func firstAlterErr(res kadm.AlterConfigsResponses) error {
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("%s: %w %s", r.Name, r.Err, r.ErrMessage)
		}
	}
	return nil
}

func throttleErr(err error) error {
	return fmt.Errorf("reassign-partitions: setting the throttle (IncrementalAlterConfigs) failed, nothing was reassigned: %w "+
		"(a cluster without IncrementalAlterConfigs takes the throttle from its static configuration; run again without --throttle)", err)
}

// removeThrottles deletes the throttle configs of the plan's brokers and
// topics (Kafka's clearAllThrottles). A cluster without
// IncrementalAlterConfigs has none to remove.
func (r *reassigner) removeThrottles(ctx context.Context, plan reassignJSON, cur []reassignPartition) {
	brokers := map[int32]bool{}
	for _, p := range plan.Partitions {
		for _, b := range p.Replicas {
			brokers[b] = true
		}
	}
	for _, p := range cur {
		for _, b := range p.Replicas {
			brokers[b] = true
		}
	}
	_, err := r.adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.DeleteConfig, Name: "leader.replication.throttled.rate"},
		{Op: kadm.DeleteConfig, Name: "follower.replication.throttled.rate"},
	}, slices.Sorted(maps.Keys(brokers))...)
	if err == nil {
		var res kadm.AlterConfigsResponses
		res, err = r.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			{Op: kadm.DeleteConfig, Name: "leader.replication.throttled.replicas"},
			{Op: kadm.DeleteConfig, Name: "follower.replication.throttled.replicas"},
		}, planTopics(plan)...)
		if err == nil {
			err = firstAlterErr(res)
		}
	}
	if err != nil {
		fmt.Fprintf(r.errOut, "Could not remove the throttles: %v\n", err)
		return
	}
	fmt.Fprintln(r.out, "Clearing broker-level throttles on brokers "+joinIDs(slices.Sorted(maps.Keys(brokers))))
	fmt.Fprintln(r.out, "Clearing topic-level throttles on topics "+strings.Join(planTopics(plan), ","))
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// status reports, per partition of plan, whether its reassignment is
// done (its replicas are the target and nothing is in progress).
// unsettled counts the partitions with nothing in progress whose
// replicas are not the plan's: cancelled or replaced, or a broker whose
// metadata is a moment behind the one that answered the listing.
func (r *reassigner) status(ctx context.Context, plan reassignJSON) (lines []string, pending, unsettled int, cur []reassignPartition, err error) {
	set := kadm.TopicsSet{}
	for _, p := range plan.Partitions {
		set.Add(p.Topic, p.Partition)
	}
	ongoing, err := r.adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return nil, 0, 0, nil, fmt.Errorf("reassign-partitions: ListPartitionReassignments: %w", err)
	}
	cur, err = r.current(ctx, planTopics(plan)...)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	curOf := map[string][]int32{}
	for _, p := range cur {
		curOf[fmt.Sprintf("%s-%d", p.Topic, p.Partition)] = p.Replicas
	}
	for _, p := range plan.Partitions {
		key := fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		_, inProgress := ongoing[p.Topic][p.Partition]
		switch {
		case inProgress:
			pending++
			lines = append(lines, fmt.Sprintf("Reassignment of partition %s is still in progress.", key))
		case slices.Equal(curOf[key], p.Replicas):
			lines = append(lines, fmt.Sprintf("Reassignment of partition %s is completed.", key))
		default:
			unsettled++
			lines = append(lines, fmt.Sprintf("There is no active reassignment of partition %s, but replica set is %v rather than %v.",
				key, curOf[key], p.Replicas))
		}
	}
	return lines, pending, unsettled, cur, nil
}

// verify prints each partition's status; once every reassignment is done
// it removes the throttles (unless preserve). With wait it polls, printing
// how many are left, until every partition has the plan's replicas or ctx
// ends.
func (r *reassigner) verify(ctx context.Context, plan reassignJSON, wait, preserve bool) error {
	lines, pending, unsettled, cur, err := r.status(ctx, plan)
	for err == nil && wait && pending+unsettled > 0 {
		fmt.Fprintf(r.errOut, "%s waiting: %d of %d partitions still being reassigned\n",
			time.Now().Format(time.TimeOnly), pending+unsettled, len(plan.Partitions))
		select {
		case <-ctx.Done():
			return fmt.Errorf("reassign-partitions: %d of %d partitions still being reassigned: %w", pending+unsettled, len(plan.Partitions), ctx.Err())
		case <-time.After(time.Second):
		}
		lines, pending, unsettled, cur, err = r.status(ctx, plan)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(r.out, "Status of partition reassignment:")
	for _, l := range lines {
		fmt.Fprintln(r.out, l)
	}
	if pending > 0 {
		fmt.Fprintln(r.out, "\nThe throttles are kept until every reassignment is done.")
		return nil
	}
	if !preserve {
		r.removeThrottles(ctx, plan, cur)
	}
	return nil
}

// cancel cancels the plan's reassignments still in progress.
func (r *reassigner) cancel(ctx context.Context, plan reassignJSON, preserve bool) error {
	set := kadm.TopicsSet{}
	for _, p := range plan.Partitions {
		set.Add(p.Topic, p.Partition)
	}
	ongoing, err := r.adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return fmt.Errorf("reassign-partitions: ListPartitionReassignments: %w", err)
	}
	var req kadm.AlterPartitionAssignmentsReq
	for _, p := range plan.Partitions {
		if _, ok := ongoing[p.Topic][p.Partition]; ok {
			req.CancelAssign(p.Topic, p.Partition)
		}
	}
	var cancelled, failed []string
	if len(req) > 0 {
		resps, err := r.adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			return fmt.Errorf("reassign-partitions: AlterPartitionReassignments: %w", err)
		}
		for _, res := range resps.Sorted() {
			key := fmt.Sprintf("%s-%d", res.Topic, res.Partition)
			if res.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v %s", key, res.Err, res.ErrMessage))
				continue
			}
			cancelled = append(cancelled, key)
		}
	}
	fmt.Fprintf(r.out, "Successfully cancelled partition reassignment(s) for: %s\n", strings.Join(cancelled, ","))
	if len(failed) > 0 {
		return fmt.Errorf("reassign-partitions: error cancelling partition reassignment(s):\n%s", strings.Join(failed, "\n"))
	}
	if !preserve {
		cur, err := r.current(ctx, planTopics(plan)...)
		if err == nil {
			r.removeThrottles(ctx, plan, cur)
		}
	}
	return nil
}

// list prints every reassignment in progress.
func (r *reassigner) list(ctx context.Context) error {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	resp, err := req.RequestWith(ctx, r.cl)
	if err != nil {
		return fmt.Errorf("reassign-partitions: ListPartitionReassignments: %w", err)
	}
	if resp.ErrorCode != 0 {
		return fmt.Errorf("reassign-partitions: ListPartitionReassignments: %w", kerr.ErrorForCode(resp.ErrorCode))
	}
	n := 0
	for _, t := range resp.Topics {
		n += len(t.Partitions)
	}
	if n == 0 {
		fmt.Fprintln(r.out, "No partition reassignments found.")
		return nil
	}
	fmt.Fprintln(r.out, "Current partition reassignments:")
	slices.SortFunc(resp.Topics, func(a, b kmsg.ListPartitionReassignmentsResponseTopic) int { return strings.Compare(a.Topic, b.Topic) })
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			fmt.Fprintf(r.out, "%s-%d: replicas: %s. adding: %s. removing: %s.\n", t.Topic, p.Partition,
				joinIDs(p.Replicas), joinIDs(p.AddingReplicas), joinIDs(p.RemovingReplicas))
		}
	}
	return nil
}
