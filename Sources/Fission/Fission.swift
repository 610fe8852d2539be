// The umbrella module: `import Fission` brings in every value module, the storage seam and the
// engine (FissionEngine.swift).

@_exported public import FissionCore
@_exported public import FissionGraph
@_exported public import FissionGroups
@_exported public import FissionMembers
@_exported public import FissionRewards
@_exported public import FissionStorage
