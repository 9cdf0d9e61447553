namespace Basis.Cluster;

/// <summary>A cluster setting is missing or invalid; the message names the key. An ArgumentException, as every configuration error of the CLI.</summary>
public sealed class ClusterConfigurationException(string message) : ArgumentException(message);

/// <summary>The cluster refused this node (a wrong secret); the message says why and what to check.</summary>
public sealed class ClusterJoinRefusedException(string message) : Exception(message);

/// <summary>Published weights are missing or do not match their checksum.</summary>
public sealed class ClusterWeightsException(string message) : Exception(message);

/// <summary>A work item was attempted as often as its limit allows without a result (a poison item): the run stops rather than retry it forever.</summary>
public sealed class ClusterWorkFailedException(string message) : Exception(message);
