package zk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/zkraft/zkraft/metadata"
)

// This file holds the JSON of every znode Kafka writes (ZkData.scala), field
// for field. Encoders write Kafka's current version; decoders accept every
// version Kafka wrote and never panic (fuzzed). Kafka's Jackson output has no
// fixed key order, so neither does ours (Go sorts map keys, structs keep
// field order).

func corrupt(what string, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", what, fmt.Sprintf(format, args...), ErrCorruptZNode)
}

// decodeStrict unmarshals data into v, naming the znode on error.
func decodeStrict(what string, data []byte, v any) error {
	if len(data) == 0 {
		return corrupt(what, "empty data")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return corrupt(what, "%v", err)
	}
	return nil
}

// ---- /cluster/id ------------------------------------------------------------

// EncodeClusterID is {"version":"1","id":"<id>"} (the version is a string).
func EncodeClusterID(id string) []byte {
	b, _ := json.Marshal(struct {
		Version string `json:"version"`
		ID      string `json:"id"`
	}{"1", id})
	return b
}

// DecodeClusterID returns the id of /cluster/id.
func DecodeClusterID(data []byte) (string, error) {
	var v struct {
		Version json.RawMessage `json:"version"`
		ID      *string         `json:"id"`
	}
	if err := decodeStrict(ClusterIDPath, data, &v); err != nil {
		return "", err
	}
	if v.ID == nil || *v.ID == "" {
		return "", corrupt(ClusterIDPath, "no id")
	}
	return *v.ID, nil
}

// ---- /controller and /controller_epoch --------------------------------------

// ControllerZNode is /controller (v2 since Kafka 3.4).
type ControllerZNode struct {
	BrokerID             int32
	Timestamp            int64 // epoch millis; written as a string
	KRaftControllerEpoch int32 // -1 for a ZooKeeper controller
}

// IsKRaft reports whether a KRaft controller holds the role (migration).
func (c ControllerZNode) IsKRaft() bool { return c.KRaftControllerEpoch >= 0 }

type controllerJSON struct {
	Version              int    `json:"version"`
	BrokerID             *int32 `json:"brokerid"`
	Timestamp            string `json:"timestamp,omitempty"`
	KRaftControllerEpoch *int32 `json:"kraftControllerEpoch,omitempty"`
}

// EncodeController writes v2: {"version":2,"brokerid":1,"timestamp":"...","kraftControllerEpoch":-1}.
func EncodeController(c ControllerZNode) []byte {
	id, ke := c.BrokerID, c.KRaftControllerEpoch
	b, _ := json.Marshal(controllerJSON{Version: 2, BrokerID: &id, Timestamp: strconv.FormatInt(c.Timestamp, 10), KRaftControllerEpoch: &ke})
	return b
}

// DecodeController reads v1 (no kraftControllerEpoch: -1) and v2.
func DecodeController(data []byte) (ControllerZNode, error) {
	var v controllerJSON
	if err := decodeStrict(ControllerPath, data, &v); err != nil {
		return ControllerZNode{}, err
	}
	if v.Version < 1 || v.Version > 2 {
		return ControllerZNode{}, corrupt(ControllerPath, "version %d", v.Version)
	}
	if v.BrokerID == nil {
		return ControllerZNode{}, corrupt(ControllerPath, "no brokerid")
	}
	c := ControllerZNode{BrokerID: *v.BrokerID, KRaftControllerEpoch: -1}
	if v.Timestamp != "" {
		ts, err := strconv.ParseInt(v.Timestamp, 10, 64)
		if err != nil {
			return ControllerZNode{}, corrupt(ControllerPath, "timestamp %q", v.Timestamp)
		}
		c.Timestamp = ts
	}
	if v.KRaftControllerEpoch != nil {
		c.KRaftControllerEpoch = *v.KRaftControllerEpoch
	}
	return c, nil
}

// EncodeControllerEpoch is the plain ASCII integer of /controller_epoch.
func EncodeControllerEpoch(epoch int32) []byte { return []byte(strconv.Itoa(int(epoch))) }

// DecodeControllerEpoch parses /controller_epoch.
func DecodeControllerEpoch(data []byte) (int32, error) {
	e, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || e < 0 {
		return 0, corrupt(ControllerEpochPath, "%q is not an epoch", data)
	}
	return int32(e), nil
}

// ---- /brokers/ids/<id> -----------------------------------------------------

// BrokerZNode is /brokers/ids/<id> (written at v5).
type BrokerZNode struct {
	Host      string // first PLAINTEXT endpoint's host; "" = JSON null
	Port      int32  // its port; -1 if none
	JmxPort   int32
	Timestamp int64
	Endpoints []metadata.Endpoint // Name = listener name, SecurityProtocol from the map
	Rack      string
	Features  map[string]FeatureRange
}

// FeatureRange is a supported feature range in a broker znode.
type FeatureRange struct {
	MinVersion int16 `json:"min_version"`
	MaxVersion int16 `json:"max_version"`
}

type brokerJSON struct {
	Version     int                     `json:"version"`
	Host        *string                 `json:"host"`
	Port        *int32                  `json:"port"`
	JmxPort     *int32                  `json:"jmx_port"`
	Timestamp   string                  `json:"timestamp"`
	Endpoints   []string                `json:"endpoints,omitempty"`
	ProtocolMap map[string]string       `json:"listener_security_protocol_map,omitempty"`
	Rack        *string                 `json:"rack,omitempty"`
	Features    map[string]FeatureRange `json:"features,omitempty"`
}

// Kafka's SecurityProtocol ids and names.
var securityProtocols = map[int16]string{0: "PLAINTEXT", 1: "SSL", 2: "SASL_PLAINTEXT", 3: "SASL_SSL"}

// SecurityProtocolName returns Kafka's name for a SecurityProtocol id.
func SecurityProtocolName(id int16) (string, bool) {
	n, ok := securityProtocols[id]
	return n, ok
}

// SecurityProtocolID returns Kafka's id for a SecurityProtocol name.
func SecurityProtocolID(name string) (int16, bool) {
	for id, n := range securityProtocols {
		if n == name {
			return id, true
		}
	}
	return 0, false
}

// NewBrokerZNode builds the znode of a registration: host/port from the
// first PLAINTEXT endpoint (Kafka: else null/-1), jmx_port -1.
func NewBrokerZNode(reg metadata.BrokerRegistration, timestampMs int64) BrokerZNode {
	n := BrokerZNode{Port: -1, JmxPort: -1, Timestamp: timestampMs, Endpoints: slices.Clone(reg.Endpoints), Rack: reg.Rack}
	for _, e := range reg.Endpoints {
		if e.SecurityProtocol == 0 {
			n.Host, n.Port = e.Host, int32(e.Port)
			break
		}
	}
	n.Features = map[string]FeatureRange{}
	for _, f := range reg.Features {
		n.Features[f.Name] = FeatureRange{MinVersion: f.MinSupportedVersion, MaxVersion: f.MaxSupportedVersion}
	}
	return n
}

// Registration converts the znode to a broker registration: unfenced (a
// registered ZooKeeper broker is live) with epoch = the znode's czxid.
func (n BrokerZNode) Registration(id int32, czxid int64) metadata.BrokerRegistration {
	reg := metadata.BrokerRegistration{ID: id, Epoch: czxid, Endpoints: slices.Clone(n.Endpoints), Rack: n.Rack}
	for _, name := range slices.Sorted(maps.Keys(n.Features)) {
		f := n.Features[name]
		reg.Features = append(reg.Features, metadata.BrokerFeature{Name: name, MinSupportedVersion: f.MinVersion, MaxSupportedVersion: f.MaxVersion})
	}
	return reg
}

// EncodeBroker writes v5 with endpoints, the listener map and features.
func EncodeBroker(n BrokerZNode) ([]byte, error) {
	v := brokerJSON{Version: 5, Timestamp: strconv.FormatInt(n.Timestamp, 10), ProtocolMap: map[string]string{}, Features: n.Features}
	port, jmx := n.Port, n.JmxPort
	v.Port, v.JmxPort = &port, &jmx
	if n.Host != "" {
		h := n.Host
		v.Host = &h
	}
	if v.Features == nil {
		v.Features = map[string]FeatureRange{}
	}
	v.Endpoints = []string{}
	for _, e := range n.Endpoints {
		proto, ok := SecurityProtocolName(e.SecurityProtocol)
		if !ok {
			return nil, fmt.Errorf("broker endpoint %s: security protocol %d: %w", e.Name, e.SecurityProtocol, ErrTranslate)
		}
		if e.Name == "" {
			return nil, fmt.Errorf("broker endpoint %s:%d has no listener name: %w", e.Host, e.Port, ErrTranslate)
		}
		v.Endpoints = append(v.Endpoints, e.Name+"://"+net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))))
		v.ProtocolMap[e.Name] = proto
	}
	if n.Rack != "" {
		r := n.Rack
		v.Rack = &r
	}
	return json.Marshal(v)
}

// DecodeBroker reads versions 1 to 5 of /brokers/ids/<id>.
func DecodeBroker(data []byte) (BrokerZNode, error) {
	const what = "/brokers/ids/<id>"
	var v brokerJSON
	if err := decodeStrict(what, data, &v); err != nil {
		return BrokerZNode{}, err
	}
	if v.Version < 1 || v.Version > 5 {
		return BrokerZNode{}, corrupt(what, "version %d", v.Version)
	}
	n := BrokerZNode{Port: -1, JmxPort: -1, Features: v.Features}
	if v.Host != nil {
		n.Host = *v.Host
	}
	if v.Port != nil {
		n.Port = *v.Port
	}
	if v.JmxPort != nil {
		n.JmxPort = *v.JmxPort
	}
	if v.Timestamp != "" {
		ts, err := strconv.ParseInt(v.Timestamp, 10, 64)
		if err != nil {
			return BrokerZNode{}, corrupt(what, "timestamp %q", v.Timestamp)
		}
		n.Timestamp = ts
	}
	if v.Rack != nil {
		n.Rack = *v.Rack
	}
	if v.Version == 1 || len(v.Endpoints) == 0 {
		if n.Host != "" && n.Port >= 0 && n.Port <= 65535 {
			n.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: n.Host, Port: uint16(n.Port)}}
		}
		return n, nil
	}
	for _, s := range v.Endpoints {
		e, err := parseEndpoint(s, v.ProtocolMap)
		if err != nil {
			return BrokerZNode{}, corrupt(what, "%v", err)
		}
		n.Endpoints = append(n.Endpoints, e)
	}
	return n, nil
}

// parseEndpoint parses LISTENER://host:port; the protocol comes from the
// listener map (v4+), else the listener name must be a protocol name.
func parseEndpoint(s string, protocols map[string]string) (metadata.Endpoint, error) {
	name, hostport, ok := strings.Cut(s, "://")
	if !ok || name == "" {
		return metadata.Endpoint{}, fmt.Errorf("endpoint %q: want LISTENER://host:port", s)
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return metadata.Endpoint{}, fmt.Errorf("endpoint %q: %v", s, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return metadata.Endpoint{}, fmt.Errorf("endpoint %q: port %q", s, portStr)
	}
	protoName := name
	if p, ok := protocols[name]; ok {
		protoName = p
	}
	proto, ok := SecurityProtocolID(protoName)
	if !ok {
		return metadata.Endpoint{}, fmt.Errorf("endpoint %q: unknown security protocol %q", s, protoName)
	}
	return metadata.Endpoint{Name: name, Host: host, Port: uint16(port), SecurityProtocol: proto}, nil
}

// ---- /brokers/topics/<t> ----------------------------------------------------

// TopicZNode is /brokers/topics/<t> (written at v3).
type TopicZNode struct {
	Partitions       map[int32][]int32 // partition -> replicas
	AddingReplicas   map[int32][]int32
	RemovingReplicas map[int32][]int32
	TopicID          metadata.Uuid // ZeroUuid before v3 (Kafka then assigns one)
}

type topicJSON struct {
	Version          int                `json:"version"`
	Partitions       map[string][]int32 `json:"partitions"`
	AddingReplicas   map[string][]int32 `json:"adding_replicas"`
	RemovingReplicas map[string][]int32 `json:"removing_replicas"`
	TopicID          *string            `json:"topic_id,omitempty"`
}

func stringKeys(m map[int32][]int32) map[string][]int32 {
	out := make(map[string][]int32, len(m))
	for k, v := range m {
		if v == nil {
			v = []int32{}
		}
		out[strconv.Itoa(int(k))] = v
	}
	return out
}

func intKeys(what string, m map[string][]int32) (map[int32][]int32, error) {
	out := make(map[int32][]int32, len(m))
	for k, v := range m {
		p, err := ParsePartitionID(k)
		if err != nil {
			return nil, corrupt(what, "partition key %q", k)
		}
		out[p] = v
	}
	return out, nil
}

// EncodeTopic writes v3: partitions, adding_replicas, removing_replicas, topic_id.
func EncodeTopic(t TopicZNode) []byte {
	id := t.TopicID.String()
	b, _ := json.Marshal(topicJSON{Version: 3, Partitions: stringKeys(t.Partitions),
		AddingReplicas: stringKeys(t.AddingReplicas), RemovingReplicas: stringKeys(t.RemovingReplicas), TopicID: &id})
	return b
}

// DecodeTopic reads v1 to v3. Every partition needs at least one replica.
func DecodeTopic(data []byte) (TopicZNode, error) {
	const what = "/brokers/topics/<t>"
	var v topicJSON
	if err := decodeStrict(what, data, &v); err != nil {
		return TopicZNode{}, err
	}
	if v.Version < 1 || v.Version > 3 {
		return TopicZNode{}, corrupt(what, "version %d", v.Version)
	}
	if v.Partitions == nil {
		return TopicZNode{}, corrupt(what, "no partitions")
	}
	var t TopicZNode
	var err error
	if t.Partitions, err = intKeys(what, v.Partitions); err != nil {
		return TopicZNode{}, err
	}
	for p, r := range t.Partitions {
		if len(r) == 0 {
			return TopicZNode{}, corrupt(what, "partition %d has no replicas", p)
		}
	}
	if t.AddingReplicas, err = intKeys(what, v.AddingReplicas); err != nil {
		return TopicZNode{}, err
	}
	if t.RemovingReplicas, err = intKeys(what, v.RemovingReplicas); err != nil {
		return TopicZNode{}, err
	}
	if v.TopicID != nil {
		if t.TopicID, err = metadata.ParseUuid(*v.TopicID); err != nil {
			return TopicZNode{}, corrupt(what, "topic_id %q", *v.TopicID)
		}
	}
	return t, nil
}

// ---- /brokers/topics/<t>/partitions/<p>/state -------------------------------

// PartitionState is a partition's state znode (v1). The znode's zkVersion is
// the partition epoch, so it is not in the JSON.
type PartitionState struct {
	Leader              int32
	LeaderEpoch         int32
	ControllerEpoch     int32
	ISR                 []int32
	LeaderRecoveryState int8 // written only when RECOVERING (KIP-704)
}

type stateJSON struct {
	Version             int     `json:"version"`
	Leader              *int32  `json:"leader"`
	LeaderEpoch         *int32  `json:"leader_epoch"`
	ControllerEpoch     *int32  `json:"controller_epoch"`
	ISR                 []int32 `json:"isr"`
	LeaderRecoveryState *int8   `json:"leader_recovery_state,omitempty"`
}

// EncodePartitionState writes {"version":1,"leader":..,"leader_epoch":..,"controller_epoch":..,"isr":[..]}.
func EncodePartitionState(s PartitionState) []byte {
	v := stateJSON{Version: 1, Leader: &s.Leader, LeaderEpoch: &s.LeaderEpoch, ControllerEpoch: &s.ControllerEpoch, ISR: s.ISR}
	if v.ISR == nil {
		v.ISR = []int32{}
	}
	if s.LeaderRecoveryState == metadata.LeaderRecovering {
		lrs := s.LeaderRecoveryState
		v.LeaderRecoveryState = &lrs
	}
	b, _ := json.Marshal(v)
	return b
}

// DecodePartitionState reads a state znode.
func DecodePartitionState(data []byte) (PartitionState, error) {
	const what = "partition state"
	var v stateJSON
	if err := decodeStrict(what, data, &v); err != nil {
		return PartitionState{}, err
	}
	if v.Version != 1 {
		return PartitionState{}, corrupt(what, "version %d", v.Version)
	}
	if v.Leader == nil || v.LeaderEpoch == nil || v.ControllerEpoch == nil || v.ISR == nil {
		return PartitionState{}, corrupt(what, "missing leader, leader_epoch, controller_epoch or isr")
	}
	s := PartitionState{Leader: *v.Leader, LeaderEpoch: *v.LeaderEpoch, ControllerEpoch: *v.ControllerEpoch, ISR: v.ISR}
	if s.Leader < metadata.NoLeader {
		return PartitionState{}, corrupt(what, "leader %d", s.Leader)
	}
	if v.LeaderRecoveryState != nil {
		if *v.LeaderRecoveryState != metadata.LeaderRecovered && *v.LeaderRecoveryState != metadata.LeaderRecovering {
			return PartitionState{}, corrupt(what, "leader_recovery_state %d", *v.LeaderRecoveryState)
		}
		s.LeaderRecoveryState = *v.LeaderRecoveryState
	}
	return s, nil
}

// ---- /config/<type>/<name> and /config/changes ------------------------------

// EncodeEntityConfig writes {"version":1,"config":{...}} (values are strings).
func EncodeEntityConfig(cfg map[string]string) []byte {
	if cfg == nil {
		cfg = map[string]string{}
	}
	b, _ := json.Marshal(struct {
		Version int               `json:"version"`
		Config  map[string]string `json:"config"`
	}{1, cfg})
	return b
}

// DecodeEntityConfig reads an entity config znode. A znode with no data (a
// parent such as /config/users/<u> with client children) is empty.
func DecodeEntityConfig(data []byte) (map[string]string, error) {
	if len(data) == 0 {
		return map[string]string{}, nil
	}
	var v struct {
		Version int               `json:"version"`
		Config  map[string]string `json:"config"`
	}
	if err := decodeStrict("/config/<type>/<name>", data, &v); err != nil {
		return nil, err
	}
	if v.Version != 1 {
		return nil, corrupt("/config/<type>/<name>", "version %d", v.Version)
	}
	if v.Config == nil {
		v.Config = map[string]string{}
	}
	return v.Config, nil
}

// EncodeConfigChange writes the v2 notification {"version":2,"entity_path":"topics/foo"}.
func EncodeConfigChange(entityType, name string) []byte {
	return marshalPlain(struct {
		Version    int    `json:"version"`
		EntityPath string `json:"entity_path"`
	}{2, entityType + "/" + name})
}

// marshalPlain is json.Marshal without HTML escaping, so "<default>" is
// written as Kafka's Jackson writes it, not as "\u003cdefault\u003e".
func marshalPlain(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // only plain structs and maps of strings
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// DecodeConfigChange reads v1 ({"entity_type","entity_name"}) and v2
// notifications and returns the entity path, e.g. "topics/foo".
func DecodeConfigChange(data []byte) (string, error) {
	const what = "/config/changes/config_change_N"
	var v struct {
		Version    int    `json:"version"`
		EntityPath string `json:"entity_path"`
		EntityType string `json:"entity_type"`
		EntityName string `json:"entity_name"`
	}
	if err := decodeStrict(what, data, &v); err != nil {
		return "", err
	}
	switch v.Version {
	case 1:
		if v.EntityType == "" || v.EntityName == "" {
			return "", corrupt(what, "v1 without entity_type/entity_name")
		}
		return v.EntityType + "/" + v.EntityName, nil
	case 2:
		if !strings.Contains(v.EntityPath, "/") {
			return "", corrupt(what, "entity_path %q", v.EntityPath)
		}
		return v.EntityPath, nil
	}
	return "", corrupt(what, "version %d", v.Version)
}

// ---- /latest_producer_id_block ----------------------------------------------

// ProducerIDBlock is /latest_producer_id_block: the last block handed out.
type ProducerIDBlock struct {
	Broker     int32
	BlockStart int64
	BlockEnd   int64 // inclusive
}

// EncodeProducerIDBlock writes {"version":1,"broker":0,"block_start":"0","block_end":"999"}.
func EncodeProducerIDBlock(b ProducerIDBlock) []byte {
	out, _ := json.Marshal(struct {
		Version    int    `json:"version"`
		Broker     int32  `json:"broker"`
		BlockStart string `json:"block_start"`
		BlockEnd   string `json:"block_end"`
	}{1, b.Broker, strconv.FormatInt(b.BlockStart, 10), strconv.FormatInt(b.BlockEnd, 10)})
	return out
}

// DecodeProducerIDBlock reads /latest_producer_id_block.
func DecodeProducerIDBlock(data []byte) (ProducerIDBlock, error) {
	const what = ProducerIDBlockPath
	var v struct {
		Version    int    `json:"version"`
		Broker     int32  `json:"broker"`
		BlockStart string `json:"block_start"`
		BlockEnd   string `json:"block_end"`
	}
	if err := decodeStrict(what, data, &v); err != nil {
		return ProducerIDBlock{}, err
	}
	if v.Version != 1 {
		return ProducerIDBlock{}, corrupt(what, "version %d", v.Version)
	}
	start, err1 := strconv.ParseInt(v.BlockStart, 10, 64)
	end, err2 := strconv.ParseInt(v.BlockEnd, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return ProducerIDBlock{}, corrupt(what, "block %q..%q", v.BlockStart, v.BlockEnd)
	}
	return ProducerIDBlock{Broker: v.Broker, BlockStart: start, BlockEnd: end}, nil
}

// ---- /feature ----------------------------------------------------------------

// FeatureZNode is /feature (v2: max levels only).
type FeatureZNode struct {
	Enabled  bool
	Features map[string]int16 // name -> max_version_level
}

// EncodeFeature writes {"version":2,"status":1,"features":{"n":{"max_version_level":N}}}.
func EncodeFeature(f FeatureZNode) []byte {
	type level struct {
		Max int16 `json:"max_version_level"`
	}
	fs := map[string]level{}
	for n, l := range f.Features {
		fs[n] = level{l}
	}
	status := 0
	if f.Enabled {
		status = 1
	}
	b, _ := json.Marshal(struct {
		Version  int              `json:"version"`
		Status   int              `json:"status"`
		Features map[string]level `json:"features"`
	}{2, status, fs})
	return b
}

// DecodeFeature reads v1 and v2 of /feature.
func DecodeFeature(data []byte) (FeatureZNode, error) {
	var v struct {
		Version  int `json:"version"`
		Status   int `json:"status"`
		Features map[string]struct {
			Max *int16 `json:"max_version_level"`
		} `json:"features"`
	}
	if err := decodeStrict(FeaturePath, data, &v); err != nil {
		return FeatureZNode{}, err
	}
	if v.Version < 1 || v.Version > 2 || v.Status < 0 || v.Status > 1 {
		return FeatureZNode{}, corrupt(FeaturePath, "version %d status %d", v.Version, v.Status)
	}
	f := FeatureZNode{Enabled: v.Status == 1, Features: map[string]int16{}}
	for n, l := range v.Features {
		if l.Max == nil {
			return FeatureZNode{}, corrupt(FeaturePath, "feature %q without max_version_level", n)
		}
		f.Features[n] = *l.Max
	}
	return f, nil
}

// ---- /migration (KIP-866) ----------------------------------------------------

// MigrationZNode is /migration; every field is -1 when created.
type MigrationZNode struct {
	KRaftControllerID    int32 `json:"kraft_controller_id"`
	KRaftControllerEpoch int32 `json:"kraft_controller_epoch"`
	KRaftMetadataOffset  int64 `json:"kraft_metadata_offset"`
	KRaftMetadataEpoch   int32 `json:"kraft_metadata_epoch"`
}

// EncodeMigration writes {"version":0,...}.
func EncodeMigration(m MigrationZNode) []byte {
	b, _ := json.Marshal(struct {
		Version int `json:"version"`
		MigrationZNode
	}{0, m})
	return b
}

// DecodeMigration reads /migration; Kafka rejects any version but 0.
func DecodeMigration(data []byte) (MigrationZNode, error) {
	var v struct {
		Version *int `json:"version"`
		MigrationZNode
	}
	if err := decodeStrict(MigrationPath, data, &v); err != nil {
		return MigrationZNode{}, err
	}
	if v.Version == nil || *v.Version != 0 {
		return MigrationZNode{}, corrupt(MigrationPath, "version is not 0")
	}
	return v.MigrationZNode, nil
}

// ---- admin and notification znodes ------------------------------------------

// TopicPartition names one partition in admin and notification znodes.
type TopicPartition struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas,omitempty"` // reassignment only
}

// EncodePartitionList writes {"version":1,"partitions":[...]} as used by
// /isr_change_notification/isr_change_N, /admin/preferred_replica_election
// and /admin/reassign_partitions.
func EncodePartitionList(ps []TopicPartition) []byte {
	if ps == nil {
		ps = []TopicPartition{}
	}
	b, _ := json.Marshal(struct {
		Version    int              `json:"version"`
		Partitions []TopicPartition `json:"partitions"`
	}{1, ps})
	return b
}

// DecodePartitionList reads those znodes.
func DecodePartitionList(data []byte) ([]TopicPartition, error) {
	const what = "partition list"
	var v struct {
		Version    int              `json:"version"`
		Partitions []TopicPartition `json:"partitions"`
	}
	if err := decodeStrict(what, data, &v); err != nil {
		return nil, err
	}
	if v.Version != 1 || v.Partitions == nil {
		return nil, corrupt(what, "version %d, partitions present %v", v.Version, v.Partitions != nil)
	}
	for _, p := range v.Partitions {
		if p.Topic == "" || p.Partition < 0 {
			return nil, corrupt(what, "partition %q-%d", p.Topic, p.Partition)
		}
	}
	return v.Partitions, nil
}

// LogDirEvent is /log_dir_event_notification/log_dir_event_N.
type LogDirEvent struct {
	Broker int32 `json:"broker"`
	Event  int32 `json:"event"` // 1 = LogDirFailure
}

// EncodeLogDirEvent writes {"version":1,"broker":1,"event":1}.
func EncodeLogDirEvent(e LogDirEvent) []byte {
	b, _ := json.Marshal(struct {
		Version int `json:"version"`
		LogDirEvent
	}{1, e})
	return b
}

// DecodeLogDirEvent reads a log dir event notification.
func DecodeLogDirEvent(data []byte) (LogDirEvent, error) {
	var v struct {
		Version int `json:"version"`
		LogDirEvent
	}
	if err := decodeStrict(LogDirEventPath, data, &v); err != nil {
		return LogDirEvent{}, err
	}
	if v.Version != 1 {
		return LogDirEvent{}, corrupt(LogDirEventPath, "version %d", v.Version)
	}
	return v.LogDirEvent, nil
}
