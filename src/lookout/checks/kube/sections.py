"""Typed models of the Kubernetes objects Lookout reads (only the fields it uses).

msgspec skips unknown fields while decoding, so a 150,000-pod list costs what these fields
cost, not what the API sends. Every field has a default: a field missing in the answer (an
older server, a half-created object) is a default value, never a crash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

Quantities = dict[str, Any]
"""Resource name → quantity (``"100m"``, ``"1Gi"``, sometimes a bare number)."""


class _S(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True, gc=False):
    """Base: camelCase on the wire, snake_case here."""


class OwnerRef(_S):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class Meta(_S):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    labels: dict[str, str] | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    owner_references: list[OwnerRef] | None = None

    def controller(self) -> OwnerRef | None:
        """The owning controller (the owner with ``controller: true``, else the first)."""
        refs = self.owner_references or []
        for ref in refs:
            if ref.controller:
                return ref
        return refs[0] if refs else None


class Condition(_S):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    last_update_time: datetime | None = None
    """Deployments' ``Progressing``: when the rollout last made progress."""


# ------------------------------------------------------------------ pods
class Resources(_S):
    requests: Quantities | None = None
    limits: Quantities | None = None


class Container(_S):
    name: str = ""
    image: str = ""
    resources: Resources | None = None


class PvcSource(_S):
    claim_name: str = ""


class Volume(_S):
    name: str = ""
    persistent_volume_claim: PvcSource | None = None


class PodSpec(_S):
    node_name: str = ""
    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    volumes: list[Volume] | None = None


class StateWaiting(_S):
    reason: str = ""
    message: str = ""


class StateRunning(_S):
    started_at: datetime | None = None


class StateTerminated(_S):
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ContainerState(_S):
    waiting: StateWaiting | None = None
    running: StateRunning | None = None
    terminated: StateTerminated | None = None


class ContainerStatus(_S):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    image: str = ""
    state: ContainerState | None = None
    last_state: ContainerState | None = None


class PodStatus(_S):
    phase: str = ""
    reason: str = ""
    message: str = ""
    start_time: datetime | None = None
    conditions: list[Condition] | None = None
    container_statuses: list[ContainerStatus] | None = None
    init_container_statuses: list[ContainerStatus] | None = None


class Pod(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


# ------------------------------------------------------------------ nodes, namespaces
class Taint(_S):
    key: str = ""
    value: str = ""
    effect: str = ""
    time_added: datetime | None = None


class NodeSpec(_S):
    unschedulable: bool = False
    taints: list[Taint] | None = None


class NodeInfo(_S):
    kubelet_version: str = ""
    container_runtime_version: str = ""
    os_image: str = ""
    kernel_version: str = ""
    architecture: str = ""


class NodeAddress(_S):
    type: str = ""
    address: str = ""


class DaemonEndpoint(_S):
    port: int = msgspec.field(default=0, name="Port")
    """Capitalised on the wire (``kubeletEndpoint: {Port: 10250}``), unlike other fields."""


class DaemonEndpoints(_S):
    kubelet_endpoint: DaemonEndpoint | None = None


class NodeStatus(_S):
    addresses: list[NodeAddress] | None = None
    daemon_endpoints: DaemonEndpoints | None = None
    capacity: Quantities | None = None
    allocatable: Quantities | None = None
    conditions: list[Condition] | None = None
    node_info: NodeInfo | None = None


class Node(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


class NamespaceStatus(_S):
    phase: str = ""


class Namespace(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    status: NamespaceStatus = msgspec.field(default_factory=NamespaceStatus)


class QuotaStatus(_S):
    hard: Quantities | None = None
    used: Quantities | None = None


class ResourceQuota(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    status: QuotaStatus = msgspec.field(default_factory=QuotaStatus)


class PvcResources(_S):
    requests: Quantities | None = None


class PvcSpec(_S):
    volume_name: str = ""
    access_modes: list[str] | None = None
    resources: PvcResources | None = None


class PvcStatus(_S):
    phase: str = ""
    capacity: Quantities | None = None


class PersistentVolumeClaim(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: PvcSpec = msgspec.field(default_factory=PvcSpec)
    status: PvcStatus = msgspec.field(default_factory=PvcStatus)


# ------------------------------------------------------------------ workloads
class AnnotatedMeta(Meta):
    """Metadata with annotations: only for the few kinds whose annotations Lookout reads
    (a Deployment's and its ReplicaSets' ``deployment.kubernetes.io/revision``)."""

    annotations: dict[str, str] | None = None


class RollingUpdate(_S):
    partition: int | None = None


class UpdateStrategy(_S):
    type: str = ""
    rolling_update: RollingUpdate | None = None


class ReplicasSpec(_S):
    replicas: int | None = None
    paused: bool = False
    progress_deadline_seconds: int | None = None
    update_strategy: UpdateStrategy | None = None


class DeploymentStatus(_S):
    observed_generation: int = 0
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    unavailable_replicas: int = 0
    conditions: list[Condition] | None = None


class Deployment(_S):
    metadata: AnnotatedMeta = msgspec.field(default_factory=AnnotatedMeta)
    spec: ReplicasSpec = msgspec.field(default_factory=ReplicasSpec)
    status: DeploymentStatus = msgspec.field(default_factory=DeploymentStatus)


class StatefulSetStatus(_S):
    observed_generation: int = 0
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    current_replicas: int = 0
    updated_replicas: int = 0
    current_revision: str = ""
    update_revision: str = ""


class StatefulSet(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: ReplicasSpec = msgspec.field(default_factory=ReplicasSpec)
    status: StatefulSetStatus = msgspec.field(default_factory=StatefulSetStatus)


class DaemonSetStatus(_S):
    observed_generation: int = 0
    desired_number_scheduled: int = 0
    current_number_scheduled: int = 0
    number_misscheduled: int = 0
    number_ready: int = 0
    number_available: int = 0
    updated_number_scheduled: int = 0


class DaemonSetSpec(_S):
    update_strategy: UpdateStrategy | None = None


class DaemonSet(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: DaemonSetSpec = msgspec.field(default_factory=DaemonSetSpec)
    status: DaemonSetStatus = msgspec.field(default_factory=DaemonSetStatus)


class ReplicaSetStatus(_S):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0


class ReplicaSet(_S):
    metadata: AnnotatedMeta = msgspec.field(default_factory=AnnotatedMeta)
    spec: ReplicasSpec = msgspec.field(default_factory=ReplicasSpec)
    status: ReplicaSetStatus = msgspec.field(default_factory=ReplicaSetStatus)


class JobSpec(_S):
    completions: int | None = None
    parallelism: int | None = None
    backoff_limit: int | None = None
    active_deadline_seconds: int | None = None


class JobStatus(_S):
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    start_time: datetime | None = None
    completion_time: datetime | None = None
    conditions: list[Condition] | None = None


class Job(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: JobSpec = msgspec.field(default_factory=JobSpec)
    status: JobStatus = msgspec.field(default_factory=JobStatus)


class CronJobSpec(_S):
    schedule: str = ""
    suspend: bool = False
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: str = ""


class ObjectRef(_S):
    name: str = ""
    namespace: str = ""
    uid: str = ""


class CronJobStatus(_S):
    last_schedule_time: datetime | None = None
    last_successful_time: datetime | None = None
    active: list[ObjectRef] | None = None


class CronJob(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: CronJobSpec = msgspec.field(default_factory=CronJobSpec)
    status: CronJobStatus = msgspec.field(default_factory=CronJobStatus)


# ------------------------------------------------------------------ autoscaling, disruption, PVs
class ScaleTarget(_S):
    kind: str = ""
    name: str = ""


class HpaSpec(_S):
    scale_target_ref: ScaleTarget = msgspec.field(default_factory=ScaleTarget)
    min_replicas: int | None = None
    max_replicas: int = 0


class HpaStatus(_S):
    current_replicas: int = 0
    desired_replicas: int = 0
    last_scale_time: datetime | None = None
    conditions: list[Condition] | None = None


class HorizontalPodAutoscaler(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: HpaSpec = msgspec.field(default_factory=HpaSpec)
    status: HpaStatus = msgspec.field(default_factory=HpaStatus)


class PdbStatus(_S):
    observed_generation: int = 0
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    conditions: list[Condition] | None = None


class PodDisruptionBudget(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    status: PdbStatus = msgspec.field(default_factory=PdbStatus)


class ClaimRef(_S):
    name: str = ""
    namespace: str = ""


class PvSpec(_S):
    capacity: Quantities | None = None
    claim_ref: ClaimRef | None = None
    storage_class_name: str = ""
    persistent_volume_reclaim_policy: str = ""


class PvStatus(_S):
    phase: str = ""
    reason: str = ""
    message: str = ""
    last_phase_transition_time: datetime | None = None


class PersistentVolume(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: PvSpec = msgspec.field(default_factory=PvSpec)
    status: PvStatus = msgspec.field(default_factory=PvStatus)


class ObjectRefKind(ObjectRef):
    kind: str = ""


class Event(_S):
    """A core/v1 Event (read only for problem pods, to name e.g. FailedMount)."""

    metadata: Meta = msgspec.field(default_factory=Meta)
    involved_object: ObjectRefKind = msgspec.field(default_factory=ObjectRefKind)
    type: str = ""
    reason: str = ""
    message: str = ""
    count: int = 0
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None
    """Set instead of the timestamps by newer reporters (events.k8s.io)."""

    def at(self) -> float:
        """When it last happened (epoch seconds; 0 when not known)."""
        t = self.last_timestamp or self.event_time or self.metadata.creation_timestamp
        return t.timestamp() if t is not None else 0.0


# ------------------------------------------------------------------ kubelet stats/summary
class CpuStats(_S):
    usage_nano_cores: float | None = None


class MemoryStats(_S):
    working_set_bytes: float | None = None
    available_bytes: float | None = None
    usage_bytes: float | None = None


class FsStats(_S):
    available_bytes: float | None = None
    capacity_bytes: float | None = None
    used_bytes: float | None = None


class PvcRef(_S):
    name: str = ""
    namespace: str = ""


class VolumeStats(FsStats):
    name: str = ""
    pvc_ref: PvcRef | None = None


class ContainerStats(_S):
    name: str = ""
    cpu: CpuStats | None = None
    memory: MemoryStats | None = None


class PodStats(_S):
    pod_ref: ObjectRef = msgspec.field(default_factory=ObjectRef)
    cpu: CpuStats | None = None
    memory: MemoryStats | None = None
    containers: list[ContainerStats] | None = None
    volume: list[VolumeStats] | None = None


class RuntimeStats(_S):
    image_fs: FsStats | None = None


class NodeStats(_S):
    node_name: str = ""
    cpu: CpuStats | None = None
    memory: MemoryStats | None = None
    fs: FsStats | None = None
    runtime: RuntimeStats | None = None


class StatsSummary(_S):
    node: NodeStats = msgspec.field(default_factory=NodeStats)
    pods: list[PodStats] | None = None


KINDS: dict[str, type[Any]] = {
    "Node": Node,
    "Namespace": Namespace,
    "Pod": Pod,
    "ResourceQuota": ResourceQuota,
    "PersistentVolumeClaim": PersistentVolumeClaim,
    "Deployment": Deployment,
    "StatefulSet": StatefulSet,
    "DaemonSet": DaemonSet,
    "ReplicaSet": ReplicaSet,
    "Job": Job,
    "CronJob": CronJob,
    "HorizontalPodAutoscaler": HorizontalPodAutoscaler,
    "PodDisruptionBudget": PodDisruptionBudget,
    "PersistentVolume": PersistentVolume,
}
"""The object kinds Lookout lists and watches, by API kind."""
