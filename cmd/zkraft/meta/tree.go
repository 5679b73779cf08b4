package meta

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// Node is one node of the shell's tree (kafka-metadata-shell's
// MetadataNode): a directory with children, or a leaf with a value.
type Node struct {
	Name     string
	Dir      bool
	Children []*Node // directories only, in display order
	Text     string  // leaves: Kafka-shell style text
	JSON     any     // leaves: the --json value
}

// Child returns the named child of a directory.
func (n *Node) Child(name string) (*Node, bool) {
	for _, c := range n.Children {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func dir(name string, children ...*Node) *Node {
	return &Node{Name: name, Dir: true, Children: children}
}

func leaf(name, text string, js any) *Node { return &Node{Name: name, Text: text, JSON: js} }

// Version is shown at /local/version; cmd/zkraft may set it at start.
var Version = "dev"

// BuildTree lays an image out as kafka-metadata-shell 3.9 does:
//
//	/image/provenance
//	/image/features/{metadataVersion, zkMigrationState, finalized_<name>}
//	/image/cluster/{clusterId, brokers/<id>}
//	/image/topics/{byName/<t>, byId/<uuid>}/{id, name, <partition>}
//	/image/configs/<type>/<name | <default>>/<key>
//	/image/producerIds/nextProducerId
//	/image/acls/byId/<uuid>            (only when the image holds ACLs)
//	/image/scram/<mechanism>/<user>    (only when it holds credentials;
//	                                   salt in hex, keys never shown)
//	/image/clientQuotas/<entity>/<key> (only when it holds quotas; entity
//	                                   "user=alice,client-id=<default>")
//	/local/{version, source}
func BuildTree(st *State, l *Log) *Node {
	img := st.Image
	prov := fmt.Sprintf("offset %d, epoch %d", img.Offset(), img.Epoch())
	if !st.ProvenanceTime.IsZero() {
		prov += ", time " + st.ProvenanceTime.UTC().Format(time.RFC3339Nano)
	}
	provJSON := map[string]any{"offset": img.Offset(), "epoch": img.Epoch()}
	if !st.ProvenanceTime.IsZero() {
		provJSON["time"] = st.ProvenanceTime.UTC().Format(time.RFC3339Nano)
	}

	features := dir("features")
	fs := img.Features()
	if lvl, ok := fs[metadata.MetadataVersionFeature]; ok {
		features.Children = append(features.Children, leaf("metadataVersion", strconv.Itoa(int(lvl)), lvl))
	}
	zk := zkStateName(img.ZkMigrationState())
	features.Children = append(features.Children, leaf("zkMigrationState", zk, zk))
	for _, name := range sortedKeys(fs) {
		if name != metadata.MetadataVersionFeature {
			features.Children = append(features.Children, leaf("finalized_"+name, strconv.Itoa(int(fs[name])), fs[name]))
		}
	}

	brokers := dir("brokers")
	for _, b := range img.Brokers() {
		brokers.Children = append(brokers.Children, leaf(strconv.Itoa(int(b.ID)), brokerText(b), brokerJSON(b)))
	}
	cluster := dir("cluster", leaf("clusterId", img.ClusterID(), img.ClusterID()), brokers)

	byName, byID := dir("byName"), dir("byId")
	for _, t := range img.Topics() {
		byName.Children = append(byName.Children, topicNode(t.Name, t))
		byID.Children = append(byID.Children, topicNode(t.ID.String(), t))
	}
	sort.Slice(byID.Children, func(i, j int) bool { return byID.Children[i].Name < byID.Children[j].Name })

	configs := dir("configs")
	for _, res := range img.ConfigResources() {
		typ := resourceTypeName(res.Type)
		td, ok := configs.Child(typ)
		if !ok {
			td = dir(typ)
			configs.Children = append(configs.Children, td)
		}
		name := res.Name
		if name == "" {
			name = "<default>"
		}
		rd := dir(name)
		cfgs := img.Configs(res.Type, res.Name)
		for _, k := range sortedKeys(cfgs) {
			rd.Children = append(rd.Children, leaf(k, cfgs[k], cfgs[k]))
		}
		td.Children = append(td.Children, rd)
	}

	pid := img.NextProducerID()
	image := dir("image")
	if img.AclCount() > 0 {
		image.Children = append(image.Children, aclsNode(img))
	}
	if img.ClientQuotaCount() > 0 {
		image.Children = append(image.Children, quotasNode(img))
	}
	image.Children = append(image.Children,
		cluster,
		configs,
		features,
		dir("producerIds", leaf("nextProducerId", strconv.FormatInt(pid, 10), pid)),
		leaf("provenance", prov, provJSON),
	)
	if img.ScramCount() > 0 {
		image.Children = append(image.Children, scramNode(img))
	}
	image.Children = append(image.Children, dir("topics", byID, byName))
	source := fmt.Sprintf("%s (image at offset %d from %s)", l.Source(), st.At, st.From)
	sourceJSON := map[string]any{"dir": l.Dir, "at": st.At, "from": st.From}
	if l.live() {
		sourceJSON = map[string]any{"controller": l.Controller, "bootstrap": l.Bootstrap, "at": st.At, "from": st.From}
	}
	local := dir("local", leaf("source", source, sourceJSON),
		leaf("version", Version, Version))
	return dir("", image, local)
}

// aclsNode is /image/acls/byId/<uuid>: Kafka's StandardAcl text.
func aclsNode(img *metadata.Image) *Node {
	byID := dir("byId")
	for _, a := range img.Acls() {
		b := a.Binding
		byID.Children = append(byID.Children, leaf(a.ID.String(), b.String(), map[string]any{
			"resourceType": b.ResourceType.String(), "resourceName": b.ResourceName,
			"patternType": b.PatternType.String(), "principal": b.Principal, "host": b.Host,
			"operation": b.Operation.String(), "permissionType": b.Permission.String()}))
	}
	sort.Slice(byID.Children, func(i, j int) bool { return byID.Children[i].Name < byID.Children[j].Name })
	return dir("acls", byID)
}

// quotasNode is /image/clientQuotas/<entity>/<key>.
func quotasNode(img *metadata.Image) *Node {
	n := dir("clientQuotas")
	for _, q := range img.ClientQuotas() {
		e := dir(q.Entity.String())
		for _, k := range sortedKeys(q.Quotas) {
			v := q.Quotas[k]
			e.Children = append(e.Children, leaf(k, strconv.FormatFloat(v, 'f', -1, 64), v))
		}
		n.Children = append(n.Children, e)
	}
	sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Name < n.Children[j].Name })
	return n
}

// scramNode is /image/scram/<mechanism>/<user>: the salt (hex) and the
// iteration count; the stored and server keys are never shown.
func scramNode(img *metadata.Image) *Node {
	n := dir("scram")
	for _, e := range img.ScramCredentials() {
		mech := e.Mechanism.String()
		md, ok := n.Child(mech)
		if !ok {
			md = dir(mech)
			n.Children = append(n.Children, md)
		}
		salt := hex.EncodeToString(e.Credential.Salt)
		md.Children = append(md.Children, leaf(e.User,
			fmt.Sprintf("ScramCredentialData(salt=%s, storedKey=[hidden], serverKey=[hidden], iterations=%d)", salt, e.Credential.Iterations),
			map[string]any{"salt": salt, "iterations": e.Credential.Iterations}))
	}
	sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Name < n.Children[j].Name })
	return n
}

func topicNode(name string, t *metadata.TopicImage) *Node {
	n := dir(name, leaf("id", t.ID.String(), t.ID.String()), leaf("name", t.Name, t.Name))
	var parts []*Node
	for _, pid := range t.PartitionIDs() {
		p := t.Partitions[pid]
		parts = append(parts, leaf(strconv.Itoa(int(pid)), partitionText(p), partitionJSON(p)))
	}
	n.Children = append(parts, n.Children...)
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func zkStateName(s int8) string {
	switch s {
	case metadata.ZkMigrationNone:
		return "NONE"
	case metadata.ZkMigrationMigration:
		return "MIGRATION"
	case metadata.ZkMigrationPreMigration:
		return "PRE_MIGRATION"
	case metadata.ZkMigrationPostMigration:
		return "POST_MIGRATION"
	case metadata.ZkMigrationReverse:
		return "REVERSE_MIGRATION"
	}
	return "UNKNOWN(" + strconv.Itoa(int(s)) + ")"
}

func resourceTypeName(t int8) string {
	switch t {
	case metadata.TopicResource:
		return "topic"
	case metadata.BrokerResource:
		return "broker"
	case metadata.BrokerLoggerResource:
		return "broker_logger"
	case metadata.ClientMetricsResource:
		return "client_metrics"
	}
	return "type_" + strconv.Itoa(int(t))
}

func securityProtocolName(p int16) string {
	switch p {
	case 0:
		return "PLAINTEXT"
	case 1:
		return "SSL"
	case 2:
		return "SASL_PLAINTEXT"
	case 3:
		return "SASL_SSL"
	}
	return "UNKNOWN(" + strconv.Itoa(int(p)) + ")"
}

func recoveryStateName(s int8) string {
	switch s {
	case metadata.LeaderRecovered:
		return "RECOVERED"
	case metadata.LeaderRecovering:
		return "RECOVERING"
	}
	return "UNKNOWN(" + strconv.Itoa(int(s)) + ")"
}

func int32s(a []int32) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.Itoa(int(v))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func nonNil(a []int32) []int32 {
	if a == nil {
		return []int32{}
	}
	return a
}

// partitionText is Kafka's PartitionRegistration.toString (without the
// directories and ELR fields, which zkraft does not have).
func partitionText(p *metadata.PartitionRegistration) string {
	return fmt.Sprintf("PartitionRegistration(replicas=%s, isr=%s, removingReplicas=%s, addingReplicas=%s, leader=%d, leaderRecoveryState=%s, leaderEpoch=%d, partitionEpoch=%d)",
		int32s(p.Replicas), int32s(p.ISR), int32s(p.RemovingReplicas), int32s(p.AddingReplicas),
		p.Leader, recoveryStateName(p.LeaderRecoveryState), p.LeaderEpoch, p.PartitionEpoch)
}

type partitionView struct {
	Replicas            []int32 `json:"replicas"`
	ISR                 []int32 `json:"isr"`
	RemovingReplicas    []int32 `json:"removingReplicas"`
	AddingReplicas      []int32 `json:"addingReplicas"`
	Leader              int32   `json:"leader"`
	LeaderRecoveryState string  `json:"leaderRecoveryState"`
	LeaderEpoch         int32   `json:"leaderEpoch"`
	PartitionEpoch      int32   `json:"partitionEpoch"`
}

func partitionJSON(p *metadata.PartitionRegistration) partitionView {
	return partitionView{nonNil(p.Replicas), nonNil(p.ISR), nonNil(p.RemovingReplicas), nonNil(p.AddingReplicas),
		p.Leader, recoveryStateName(p.LeaderRecoveryState), p.LeaderEpoch, p.PartitionEpoch}
}

// brokerText is Kafka's BrokerRegistration.toString.
func brokerText(b *metadata.BrokerRegistration) string {
	eps := make([]string, len(b.Endpoints))
	for i, e := range b.Endpoints {
		eps[i] = fmt.Sprintf("Endpoint(listenerName='%s', securityProtocol=%s, host='%s', port=%d)",
			e.Name, securityProtocolName(e.SecurityProtocol), e.Host, e.Port)
	}
	fs := make([]string, len(b.Features))
	for i, f := range b.Features {
		fs[i] = fmt.Sprintf("%s: %d-%d", f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)
	}
	rack := "Optional.empty"
	if b.Rack != "" {
		rack = "Optional[" + b.Rack + "]"
	}
	return fmt.Sprintf("BrokerRegistration(id=%d, epoch=%d, incarnationId=%s, listeners=[%s], supportedFeatures={%s}, rack=%s, fenced=%t, inControlledShutdown=%t, isMigratingZkBroker=%t)",
		b.ID, b.Epoch, b.IncarnationID, strings.Join(eps, ", "), strings.Join(fs, ", "), rack,
		b.Fenced, b.InControlledShutdown, b.IsMigratingZkBroker)
}

type endpointView struct {
	Name             string `json:"listenerName"`
	SecurityProtocol string `json:"securityProtocol"`
	Host             string `json:"host"`
	Port             uint16 `json:"port"`
}

type featureView struct {
	Name string `json:"name"`
	Min  int16  `json:"minSupportedVersion"`
	Max  int16  `json:"maxSupportedVersion"`
}

type brokerView struct {
	ID                   int32          `json:"id"`
	Epoch                int64          `json:"epoch"`
	IncarnationID        string         `json:"incarnationId"`
	Listeners            []endpointView `json:"listeners"`
	SupportedFeatures    []featureView  `json:"supportedFeatures"`
	Rack                 *string        `json:"rack"`
	Fenced               bool           `json:"fenced"`
	InControlledShutdown bool           `json:"inControlledShutdown"`
	IsMigratingZkBroker  bool           `json:"isMigratingZkBroker"`
}

func brokerJSON(b *metadata.BrokerRegistration) brokerView {
	v := brokerView{ID: b.ID, Epoch: b.Epoch, IncarnationID: b.IncarnationID.String(),
		Listeners: []endpointView{}, SupportedFeatures: []featureView{},
		Fenced: b.Fenced, InControlledShutdown: b.InControlledShutdown, IsMigratingZkBroker: b.IsMigratingZkBroker}
	for _, e := range b.Endpoints {
		v.Listeners = append(v.Listeners, endpointView{e.Name, securityProtocolName(e.SecurityProtocol), e.Host, e.Port})
	}
	for _, f := range b.Features {
		v.SupportedFeatures = append(v.SupportedFeatures, featureView{f.Name, f.MinSupportedVersion, f.MaxSupportedVersion})
	}
	if b.Rack != "" {
		r := b.Rack
		v.Rack = &r
	}
	return v
}

// Flatten returns every leaf below n as absolute path -> node, for diffs.
func Flatten(n *Node, prefix string) map[string]*Node {
	out := map[string]*Node{}
	var walk func(n *Node, p string)
	walk = func(n *Node, p string) {
		if !n.Dir {
			out[p] = n
			return
		}
		for _, c := range n.Children {
			walk(c, strings.TrimSuffix(p, "/")+"/"+c.Name)
		}
	}
	walk(n, prefix)
	return out
}
