// The umbrella module: `import Fission` brings in every value module. The engine, storage and
// analytics will live here too (issue 6); until then it only re-exports.

@_exported public import FissionCore
@_exported public import FissionGraph
@_exported public import FissionGroups
@_exported public import FissionMembers
@_exported public import FissionRewards
