"""The codes of opencontainers/runtime-tools' ``specerror`` package (v0.9.0 and its master branch:
specerror/runtime.go, config.go, config-linux.go, runtime-linux.go, bundle.go; names only), and
which of them the catalog's ``runtime_tools`` keys leave out, with the reason.

People moving from runtime-tools' TAP output look their codes up in the catalog; every code that
names something a runtime does has an entry there, and every other code is listed here.
"""

ALL_CODES = frozenset({
    "AnnotationsKeyIgnoreUnknown", "AnnotationsKeyRequired", "AnnotationsKeyReservedNS",
    "AnnotationsKeyReversedDomain", "AnnotationsKeyString", "AnnotationsKeyValueMap", "AnnotationsValueString",
    "ArtifactsInSingleDir", "BlkIOWeightOrLeafWeightExist", "CgroupsAbsPathRelToMount", "CgroupsPathAbsOrRel",
    "CgroupsPathAttach", "CgroupsPathError", "ConfigConstName", "ConfigInRootBundleDir",
    "ConfigUpdatesWithoutAffect", "CreateNewContainer", "CreateWithBundlePathAndID", "CreateWithUniqueID",
    "DefaultDevices", "DefaultFilesystems", "DefaultOperations", "DefaultRuntimeLinuxSymlinks",
    "DefaultStateJSONPattern", "DeleteNonStopGenError", "DeleteNonStopHaveNoEffect", "DeleteOnlyCreatedRes",
    "DeleteResImplement", "DeleteWithoutIDGenError", "DevicesApplyInOrder", "DevicesAvailable",
    "DevicesErrorOnDup", "DevicesFileNotMatch", "DevicesMajMinRequired", "EntityOperSameContainer",
    "EnvCreateError", "EnvCreateImplement", "ErrorsLeaveStateUnchange", "ExtensibilityIgnoreUnknownProp",
    "IntelRdtL3CacheSchemaNotWrite", "IntelRdtL3CacheSchemaWrite", "IntelRdtNoMountedResctrlError",
    "IntelRdtPIDWrite", "KillNonCreateRunGenError", "KillNonCreateRunHaveNoEffect", "KillSignalImplement",
    "KillWithoutIDGenError", "LinuxProcCapError", "LinuxProcOomScoreAdjNotSet", "LinuxProcOomScoreAdjSet",
    "MaskedPathsAbs", "MountsDestAbs", "MountsDestOnWindowsNotNested", "MountsInOrder",
    "MountsOptionsOnWindowsROSupport", "NSErrorOnDup", "NSInheritWithoutType", "NSNewNSWithoutPath", "NSPathAbs",
    "NSPathMatchTypeError", "NSProcInPath", "NotManipResctrlWithoutIntelRdt", "PlatformSpecConfOnWindowsSet",
    "PosixHooksCalledInOrder", "PosixHooksPathAbs", "PosixHooksStateToStdin", "PosixHooksTimeoutPositive",
    "PosixProcRlimitsErrorOnDup", "PosixProcRlimitsHardMatchMax", "PosixProcRlimitsSoftMatchCur",
    "PosixProcRlimitsTypeGenError", "PosixProcRlimitsTypeGet", "PosixProcRlimitsTypeValueError",
    "PoststartHookFailGenWarn", "PoststartHooksInvoke", "PoststartTiming", "PoststopHookFailGenWarn",
    "PoststopHooksInvoke", "PoststopTiming", "PrestartHookFailGenError", "PrestartHooksInvoke", "PrestartTiming",
    "ProcArgsApplyUntilStart", "ProcArgsOneEntryRequired", "ProcConsoleSizeIgnore", "ProcCwdAbs", "ProcImplement",
    "ProcNotRunAtResRequest", "ProcRequiredAtStart", "PropApplyFailGenError", "PropApplyFailNotCreate",
    "PropsApplyExceptProcOnCreate", "QueryNonExistGenError", "QueryStateImplement", "QueryWithoutIDGenError",
    "ReadonlyPathsAbs", "RootOnHyperVNotSet", "RootOnNonWindowsRequired", "RootOnWindowsRequired", "RootPathExist",
    "RootPathOnPosixConvention", "RootPathOnWindowsGUID", "RootReadonlyImplement", "RootReadonlyOnWindowsFalse",
    "SeccSyscallsNamesRequired", "SpecVersionInSemVer", "StartNotCreatedGenError", "StartNotCreatedHaveNoEffect",
    "StartProcImplement", "StartWithProcUnsetGenError", "StartWithoutIDGenError", "StateIDUniq", "StateNewStatus",
    "UndoCreateSteps", "UserNSMapOwnershipRO", "ValidValues", "WarnsLeaveFlowUnchange",
})

#: Sentences that bind whoever writes config.json (runtime-tools checks them in ``validate``, on the
#: bundle, not on a runtime); a runtime MAY validate them (runtime.create-validates-oci-version is the
#: one ocitest reports, for SpecVersionInSemVer).
CONFIG_AUTHOR = frozenset({
    "AnnotationsKeyRequired", "AnnotationsKeyReservedNS", "AnnotationsKeyReversedDomain", "AnnotationsKeyString",
    "AnnotationsKeyValueMap", "AnnotationsValueString", "BlkIOWeightOrLeafWeightExist", "CgroupsPathAbsOrRel",
    "DevicesErrorOnDup", "DevicesMajMinRequired", "MaskedPathsAbs", "MountsDestAbs", "NSPathAbs",
    "PosixHooksPathAbs", "PosixHooksTimeoutPositive", "PosixProcRlimitsTypeValueError", "ProcCwdAbs",
    "ReadonlyPathsAbs", "RootOnNonWindowsRequired", "RootPathExist", "RootPathOnPosixConvention",
    "SeccSyscallsNamesRequired",
})
#: bundle.md's layout rules (the bundle's author).
BUNDLE_LAYOUT = frozenset({
    "ArtifactsInSingleDir", "ConfigConstName", "ConfigInRootBundleDir",
})
#: Windows-only sentences (ocitest judges Linux runtimes).
WINDOWS = frozenset({
    "MountsDestOnWindowsNotNested", "MountsOptionsOnWindowsROSupport", "PlatformSpecConfOnWindowsSet",
    "RootOnHyperVNotSet", "RootOnWindowsRequired", "RootPathOnWindowsGUID", "RootReadonlyOnWindowsFalse",
})

UNMAPPED = CONFIG_AUTHOR | BUNDLE_LAYOUT | WINDOWS
