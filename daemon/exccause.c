/*
 * The EXCCAUSE codes of the Xtensa ISA Reference Manual (the table of
 * exception causes), and which of them load EXCVADDR.
 */
#include <stddef.h>

#include "exccause.h"

static const char *const causes[] = {
	[0] = "IllegalInstructionCause",
	[1] = "SyscallCause",
	[2] = "InstructionFetchErrorCause",
	[3] = "LoadStoreErrorCause",
	[4] = "Level1InterruptCause",
	[5] = "AllocaCause",
	[6] = "IntegerDivideByZeroCause",
	[8] = "PrivilegedCause",
	[9] = "LoadStoreAlignmentCause",
	[12] = "InstrPIFDataErrorCause",
	[13] = "LoadStorePIFDataErrorCause",
	[14] = "InstrPIFAddrErrorCause",
	[15] = "LoadStorePIFAddrErrorCause",
	[16] = "InstTLBMissCause",
	[17] = "InstTLBMultiHitCause",
	[18] = "InstFetchPrivilegeCause",
	[20] = "InstFetchProhibitedCause",
	[24] = "LoadStoreTLBMissCause",
	[25] = "LoadStoreTLBMultiHitCause",
	[26] = "LoadStorePrivilegeCause",
	[28] = "LoadProhibitedCause",
	[29] = "StoreProhibitedCause",
	[32] = "Coprocessor0Disabled",
	[33] = "Coprocessor1Disabled",
	[34] = "Coprocessor2Disabled",
	[35] = "Coprocessor3Disabled",
	[36] = "Coprocessor4Disabled",
	[37] = "Coprocessor5Disabled",
	[38] = "Coprocessor6Disabled",
	[39] = "Coprocessor7Disabled",
};

const char *
exccause_name(uint32_t cause)
{
	if (cause >= sizeof(causes) / sizeof(causes[0]))
		return cause < 64 ? "reserved" : "unknown";
	return causes[cause] != NULL ? causes[cause] : "reserved";
}

bool
exccause_has_vaddr(uint32_t cause)
{
	switch (cause) {
	case 2: case 3: case 9: case 12: case 13: case 14: case 15: case 16:
	case 17: case 18: case 20: case 24: case 25: case 26: case 28: case 29:
		return true;
	default:
		return false;
	}
}
