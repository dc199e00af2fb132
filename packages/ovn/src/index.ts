/**
 * @aster/ovn — the one module that speaks to OVN.
 *
 * The network worker's use of it:
 *
 *   const nb = await OvsdbClient.connect('unix:/var/run/ovn/ovnnb_db.sock');      // or 'tcp:host:port'; reconnects by itself
 *   const desired = desiredNb(model, { cloudId, gatewayChassis: ['host-a'] });   // pure: the NB rows for a NetworkModel
 *   const report = await reconcile(nb, desired, { cloudId, mode: 'repair' });     // one transaction; 'log' writes nothing
 *   report.differences.map((d) => d.text);  // "logical switch port 5f0c… missing: created", …
 *
 *   const watch = await watchPortsUp(nb, { cloudId, onChange: (portId, up) => … }); // ports bound by a chassis
 *   const t = await ovnTrace({ sbDb, datapath: switchName(networkId), inport: portId, microflow: 'eth.src == … && …' });
 *   t.verdict;  // { kind: 'output', ports: [portId] } or { kind: 'dropped', at: { stage: 'ls_out_acl', match, … } }
 *
 * Contracts:
 * - Every row written carries `external_ids:aster-cloud=<cloudId>`; reconcile changes and deletes only rows with the
 *   given cloud id, and compares only the columns Aster sets (others, like `up`, are left to OVN).
 * - Names: switch `aster-<networkId>`, port = the port id, router `aster-<routerId>`, router port `lrp-<portId>`,
 *   localnet port `provnet-<networkId>`, port group `pg_<groupId with - as _>`, drop group `aster_drop_<cloudId>`.
 * - reconcile works from a replica monitored on the client (set up on its first call, kept current after, also
 *   across reconnects); it syncs with the server before comparing, so changes committed before the call are seen.
 * - IPv6 security group rules get no ACL. DHCP options exist for DHCP subnets with a gateway on non-external
 *   networks (an external network's DHCP is the physical network's).
 */
export * from './model.ts';
export {
  OvsdbClient,
  OvsdbRpcError,
  OvsdbTransactionError,
  Replica,
  parseAddress,
  type ClientOptions,
  type Condition,
  type MonitorTable,
  type Operation,
} from './ovsdb.ts';
export * from './values.ts';
export {
  desiredNb,
  dhcpMacFor,
  dropPortGroupName,
  localnetPortName,
  portGroupName,
  routerName,
  routerPortName,
  ruleMatch,
  switchName,
  type DesiredNb,
  type DesiredOptions,
  type DesiredRow,
  type NbTable,
} from './desired.ts';
export { NB_DB, nbReplica, reconcile, type Difference, type ReconcileReport } from './reconcile.ts';
export { watchPortsUp, type PortUpWatch } from './watch.ts';
export { ovnTrace, parseTrace, type TraceOptions, type TraceResult, type TraceStage, type TraceVerdict } from './trace.ts';
