package config

import (
	"fmt"
	"slices"
	"strings"
)

// Validate checks the relations between keys and the ranges of values; its
// errors name the keys involved. Load and FromProperties call it; call it
// again after changing a Config by hand.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateRanges, c.validateMode, c.validateListeners} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...)
}

func (c *Config) validateRanges() error {
	for _, r := range []struct {
		key string
		n   int64
		min int64
	}{
		{"num.partitions", int64(c.NumPartitions), 1},
		{"default.replication.factor", int64(c.DefaultReplicationFactor), 1},
		{"min.insync.replicas", int64(c.MinInsyncReplicas), 1},
		{"offsets.topic.num.partitions", int64(c.OffsetsTopicNumPartitions), 1},
		{"offsets.topic.replication.factor", int64(c.OffsetsTopicReplicationFactor), 1},
		{"transaction.state.log.num.partitions", int64(c.TransactionStateLogNumPartitions), 1},
		{"transaction.state.log.replication.factor", int64(c.TransactionStateLogReplicationFactor), 1},
		{"transaction.state.log.min.isr", int64(c.TransactionStateLogMinISR), 1},
		{"transaction.state.log.segment.bytes", c.TransactionStateLogSegmentBytes, 14},
		{"transaction.max.timeout.ms", c.TransactionMaxTimeout.Milliseconds(), 1},
		{"transaction.abort.timed.out.transaction.cleanup.interval.ms", c.TransactionAbortInterval.Milliseconds(), 1},
		{"transactional.id.expiration.ms", c.TransactionalIDExpiration.Milliseconds(), 1},
		{"transaction.remove.expired.transaction.cleanup.interval.ms", c.TransactionExpireInterval.Milliseconds(), 1},
		{"log.segment.bytes", c.LogSegmentBytes, 14},
		{"log.retention.bytes", c.LogRetentionBytes, -1},
		{"log.index.interval.bytes", int64(c.LogIndexIntervalBytes), 0},
		{"socket.request.max.bytes", int64(c.SocketRequestMaxBytes), 1},
		{"zkraft.max.open.files", int64(c.MaxOpenFiles), 2},
		{"zkraft.metadata.snapshot.retain", int64(c.MetadataSnapshotRetain), 1},
		{"metadata.log.max.record.bytes.between.snapshots", c.MetadataMaxRecordBytesBetweenSnapshots, 1},
		{"log.retention.check.interval.ms", c.LogRetentionCheckInterval.Milliseconds(), 1},
		{"replica.lag.time.max.ms", c.ReplicaLagTimeMax.Milliseconds(), 1},
		{"broker.heartbeat.interval.ms", c.BrokerHeartbeatInterval.Milliseconds(), 1},
		{"broker.session.timeout.ms", c.BrokerSessionTimeout.Milliseconds(), 1},
		{"connections.max.idle.ms", c.ConnectionsMaxIdle.Milliseconds(), 1},
		{"zookeeper.session.timeout.ms", c.ZooKeeperSessionTimeout.Milliseconds(), 1},
		{"zookeeper.connection.timeout.ms", c.ZooKeeperConnectionTimeout.Milliseconds(), 1},
		{"group.initial.rebalance.delay.ms", c.GroupInitialRebalanceDelay.Milliseconds(), 0},
		{"metadata.log.max.snapshot.interval.ms", c.MetadataMaxSnapshotInterval.Milliseconds(), 0},
	} {
		if r.n < r.min {
			return fmt.Errorf("%w %q for %s: must be at least %d", ErrInvalidValue, fmt.Sprint(r.n), r.key, r.min)
		}
	}
	if c.LogRetentionMs == 0 || c.LogRetentionMs < -1 {
		return fmt.Errorf("%w %q for log.retention.ms: must be -1 (unlimited) or positive", ErrInvalidValue, fmt.Sprint(c.LogRetentionMs))
	}
	if c.BrokerHeartbeatInterval >= c.BrokerSessionTimeout {
		return inconsistent("broker.heartbeat.interval.ms=%d must be below broker.session.timeout.ms=%d",
			c.BrokerHeartbeatInterval.Milliseconds(), c.BrokerSessionTimeout.Milliseconds())
	}
	if len(c.LogDirs) == 0 || slices.Contains(c.LogDirs, "") {
		return inconsistent("log.dirs has an empty entry (%q)", strings.Join(c.LogDirs, ","))
	}
	if len(c.Listeners) == 0 {
		return inconsistent("listeners is empty")
	}
	if c.MetadataLogDir == "" {
		return inconsistent("metadata.log.dir is empty")
	}
	if c.LogMessageTimestampType != "CreateTime" && c.LogMessageTimestampType != "LogAppendTime" {
		return fmt.Errorf("%w %q for log.message.timestamp.type: want CreateTime or LogAppendTime", ErrInvalidValue, c.LogMessageTimestampType)
	}
	return nil
}

func (c *Config) validateMode() error {
	for _, r := range c.ProcessRoles {
		if r != RoleBroker && r != RoleController {
			return fmt.Errorf("%w %q for process.roles: unknown role %q (want broker, controller or both)",
				ErrInvalidValue, strings.Join(c.ProcessRoles, ","), r)
		}
	}
	roles := strings.Join(c.ProcessRoles, ",")
	if c.Mode() == ModeZooKeeper {
		if c.ZooKeeperConnect == "" {
			return inconsistent("neither process.roles (quorum mode) nor zookeeper.connect (zookeeper mode) is set")
		}
		if c.NodeID < 0 {
			return inconsistent("broker.id (or node.id) is required in zookeeper mode; zkraft does not generate broker ids")
		}
		if c.ZooKeeperMigrationEnable && (len(c.ControllerQuorumVoters) == 0 || len(c.ControllerListenerNames) == 0) {
			return inconsistent("zookeeper.metadata.migration.enable=true on a zookeeper-mode broker needs controller.quorum.voters and controller.listener.names")
		}
		if c.ZooKeeperReverseEnable {
			return inconsistent("zookeeper.metadata.migration.reverse.enable=true is for controllers (process.roles=controller); " +
				"zookeeper-mode brokers of a reverse migration use zookeeper.metadata.migration.enable=true")
		}
		return nil
	}

	// Quorum mode.
	if c.NodeID < 0 {
		return inconsistent("node.id is required when process.roles is set (process.roles=%s)", roles)
	}
	controllerOnly := !c.HasRole(RoleBroker)
	if c.ZooKeeperReverseEnable {
		switch {
		case !controllerOnly:
			return inconsistent("zookeeper.metadata.migration.reverse.enable=true is for process.roles=controller, not process.roles=%s", roles)
		case c.ZooKeeperMigrationEnable:
			return inconsistent("zookeeper.metadata.migration.enable and zookeeper.metadata.migration.reverse.enable are both true; set one (forward or reverse)")
		case c.ZooKeeperConnect == "":
			return inconsistent("zookeeper.metadata.migration.reverse.enable=true needs zookeeper.connect")
		}
	}
	if c.ZooKeeperConnect != "" && !((c.ZooKeeperMigrationEnable || c.ZooKeeperReverseEnable) && controllerOnly) {
		return inconsistent("process.roles=%s and zookeeper.connect are both set; only a migrating controller "+
			"(process.roles=controller with zookeeper.metadata.migration.enable=true or zookeeper.metadata.migration.reverse.enable=true) may have both", roles)
	}
	if c.ZooKeeperMigrationEnable && controllerOnly && c.ZooKeeperConnect == "" {
		return inconsistent("zookeeper.metadata.migration.enable=true with process.roles=controller needs zookeeper.connect")
	}
	if c.ZooKeeperMigrationEnable && !controllerOnly {
		return inconsistent("zookeeper.metadata.migration.enable=true is for zookeeper-mode brokers and controllers, not process.roles=%s", roles)
	}
	if len(c.ControllerQuorumVoters) == 0 {
		if _, ok := c.Set["controller.quorum.bootstrap.servers"]; ok {
			return inconsistent("controller.quorum.bootstrap.servers (dynamic quorum, KIP-853) is not supported; set controller.quorum.voters")
		}
		return inconsistent("controller.quorum.voters is required when process.roles is set")
	}
	if len(c.ControllerListenerNames) == 0 {
		return inconsistent("controller.listener.names is required when process.roles is set")
	}
	if c.HasRole(RoleController) {
		if !slices.ContainsFunc(c.ControllerQuorumVoters, func(v Voter) bool { return v.ID == c.NodeID }) {
			return inconsistent("process.roles=%s includes controller but node.id=%d is not in controller.quorum.voters (%s)",
				roles, c.NodeID, votersString(c.ControllerQuorumVoters))
		}
		if _, ok := c.Listener(c.ControllerListenerNames[0]); !ok {
			return inconsistent("controller.listener.names: %s is not in listeners (%s)", c.ControllerListenerNames[0], listenersString(c.Listeners))
		}
	}
	if controllerOnly {
		for _, l := range c.Listeners {
			if !slices.Contains(c.ControllerListenerNames, l.Name) {
				return inconsistent("listener %s is not in controller.listener.names (%s); with process.roles=controller every listener is a controller listener",
					l.Name, strings.Join(c.ControllerListenerNames, ","))
			}
		}
	}
	if !c.HasRole(RoleController) {
		for _, l := range c.Listeners {
			if slices.Contains(c.ControllerListenerNames, l.Name) {
				return inconsistent("listener %s is in controller.listener.names, but process.roles=broker has no controller role", l.Name)
			}
		}
	}
	return nil
}

func (c *Config) validateListeners() error {
	check := func(key, name string) error {
		_, ok := c.ListenerSecurityProtocolMap[name]
		if !ok {
			return inconsistent("listener name %q (%s) has no entry in listener.security.protocol.map", name, key)
		}
		return nil
	}
	for _, l := range c.Listeners {
		if err := check("listeners", l.Name); err != nil {
			return err
		}
	}
	for _, l := range c.AdvertisedListeners {
		if err := check("advertised.listeners", l.Name); err != nil {
			return err
		}
		if _, ok := c.Listener(l.Name); !ok {
			return inconsistent("advertised.listeners entry %s names no listener in listeners (%s)", l, listenersString(c.Listeners))
		}
		if l.Host == "0.0.0.0" || l.Host == "::" || l.Host == "" {
			return inconsistent("advertised.listeners entry %s has host %q, which clients cannot connect to", l, l.Host)
		}
	}
	for _, n := range c.ControllerListenerNames {
		if err := check("controller.listener.names", n); err != nil {
			return err
		}
	}
	if !c.HasRole(RoleBroker) {
		return nil
	}
	if len(c.BrokerListeners()) == 0 {
		return inconsistent("listeners (%s) has no broker listener: every one is in controller.listener.names", listenersString(c.Listeners))
	}
	if c.InterBrokerListenerName == "" {
		return inconsistent("inter.broker.listener.name is not set and cannot be derived from listeners")
	}
	if _, ok := c.Listener(c.InterBrokerListenerName); !ok {
		return inconsistent("inter.broker.listener.name=%s is not in listeners (%s)", c.InterBrokerListenerName, listenersString(c.Listeners))
	}
	if slices.Contains(c.ControllerListenerNames, c.InterBrokerListenerName) {
		return inconsistent("inter.broker.listener.name=%s is a controller listener (controller.listener.names)", c.InterBrokerListenerName)
	}
	for _, l := range c.BrokerListeners() {
		if l.Host != "0.0.0.0" && l.Host != "::" {
			continue
		}
		if !slices.ContainsFunc(c.AdvertisedListeners, func(a Listener) bool { return a.Name == l.Name }) {
			return inconsistent("listener %s binds %s, which cannot be advertised; set advertised.listeners for %s", l, l.Host, l.Name)
		}
	}
	return nil
}

func votersString(vs []Voter) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

func listenersString(ls []Listener) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = l.String()
	}
	return strings.Join(s, ",")
}
