package zk

import (
	"fmt"
	"strconv"
	"strings"
)

// Kafka's znode paths (ZkData.scala), relative to the chroot.
const (
	ClusterIDPath             = "/cluster/id"
	ControllerPath            = "/controller"
	ControllerEpochPath       = "/controller_epoch"
	BrokersPath               = "/brokers"
	BrokerIDsPath             = "/brokers/ids"
	BrokerTopicsPath          = "/brokers/topics"
	BrokerSeqIDPath           = "/brokers/seqid"
	AdminPath                 = "/admin"
	DeleteTopicsPath          = "/admin/delete_topics"
	ReassignPartitionsPath    = "/admin/reassign_partitions"
	PreferredReplicaElection  = "/admin/preferred_replica_election"
	IsrChangeNotificationPath = "/isr_change_notification"
	LogDirEventPath           = "/log_dir_event_notification"
	ConfigPath                = "/config"
	ConfigChangesPath         = "/config/changes"
	ProducerIDBlockPath       = "/latest_producer_id_block"
	FeaturePath               = "/feature"
	MigrationPath             = "/migration"
	ConsumersPath             = "/consumers"

	// ConfigChangePrefix names /config/changes children (ZooKeeper appends
	// a 10-digit sequence number).
	ConfigChangePrefix = "config_change_"
	// IsrChangePrefix names /isr_change_notification children.
	IsrChangePrefix = "isr_change_"
	// LogDirEventPrefix names /log_dir_event_notification children.
	LogDirEventPrefix = "log_dir_event_"
)

// Config entity types: the children of /config.
const (
	ConfigTopics  = "topics"
	ConfigClients = "clients"
	ConfigUsers   = "users"
	ConfigBrokers = "brokers"
	ConfigIPs     = "ips"
)

// PersistentPaths are the paths every Kafka broker creates at start
// (ZkData.PersistentZkPaths), parents before children.
var PersistentPaths = []string{
	ConsumersPath,
	BrokersPath, BrokerIDsPath, BrokerTopicsPath,
	ConfigPath, ConfigChangesPath,
	AdminPath, DeleteTopicsPath,
	BrokerSeqIDPath,
	IsrChangeNotificationPath,
	ProducerIDBlockPath,
	LogDirEventPath,
	ConfigPath + "/" + ConfigTopics, ConfigPath + "/" + ConfigClients, ConfigPath + "/" + ConfigUsers,
	ConfigPath + "/" + ConfigBrokers, ConfigPath + "/" + ConfigIPs,
}

// BrokerPath is /brokers/ids/<id>.
func BrokerPath(id int32) string { return BrokerIDsPath + "/" + strconv.Itoa(int(id)) }

// TopicPath is /brokers/topics/<topic>.
func TopicPath(topic string) string { return BrokerTopicsPath + "/" + topic }

// PartitionsPath is /brokers/topics/<topic>/partitions.
func PartitionsPath(topic string) string { return TopicPath(topic) + "/partitions" }

// PartitionPath is /brokers/topics/<topic>/partitions/<p>.
func PartitionPath(topic string, p int32) string {
	return PartitionsPath(topic) + "/" + strconv.Itoa(int(p))
}

// PartitionStatePath is /brokers/topics/<topic>/partitions/<p>/state.
func PartitionStatePath(topic string, p int32) string { return PartitionPath(topic, p) + "/state" }

// DeleteTopicPath is /admin/delete_topics/<topic>.
func DeleteTopicPath(topic string) string { return DeleteTopicsPath + "/" + topic }

// EntityConfigPath is /config/<entityType>/<name>.
func EntityConfigPath(entityType, name string) string {
	return ConfigPath + "/" + entityType + "/" + name
}

// TopicConfigPath is /config/topics/<topic>.
func TopicConfigPath(topic string) string { return EntityConfigPath(ConfigTopics, topic) }

// ParseBrokerID parses the name of a /brokers/ids child.
func ParseBrokerID(name string) (int32, error) {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("broker id %q: %w", name, ErrCorruptZNode)
	}
	return int32(id), nil
}

// ParsePartitionID parses the name of a .../partitions child.
func ParsePartitionID(name string) (int32, error) {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("partition id %q: %w", name, ErrCorruptZNode)
	}
	return int32(id), nil
}

// ParseStatePath splits /brokers/topics/<t>/partitions/<p>/state into (t, p).
func ParseStatePath(path string) (topic string, partition int32, ok bool) {
	rest, found := strings.CutPrefix(path, BrokerTopicsPath+"/")
	if !found {
		return "", 0, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[1] != "partitions" || parts[3] != "state" {
		return "", 0, false
	}
	p, err := ParsePartitionID(parts[2])
	if err != nil {
		return "", 0, false
	}
	return parts[0], p, true
}

// ParseTopicPath returns t for /brokers/topics/<t>.
func ParseTopicPath(path string) (string, bool) {
	rest, found := strings.CutPrefix(path, BrokerTopicsPath+"/")
	if !found || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

// ParseBrokerPath returns the id for /brokers/ids/<id>.
func ParseBrokerPath(path string) (int32, bool) {
	rest, found := strings.CutPrefix(path, BrokerIDsPath+"/")
	if !found {
		return 0, false
	}
	id, err := ParseBrokerID(rest)
	return id, err == nil
}

// ParseEntityConfigPath splits /config/<type>/<name> (topics and brokers).
func ParseEntityConfigPath(path string) (entityType, name string, ok bool) {
	rest, found := strings.CutPrefix(path, ConfigPath+"/")
	if !found {
		return "", "", false
	}
	entityType, name, ok = strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return entityType, name, true
}
