/* crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of journal records. Software, slicing-by-8 tables built once;
 * the SSE4.2 crc32 instruction when the CPU has it. */
#ifndef VL_CRC32C_H
#define VL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends CRC (0 to start) with LEN bytes of DATA and returns the new value.
 * crc32c (0, "123456789", 9) == 0xE3069283. Thread-safe after the first call
 * (the tables are built by pthread_once). */
uint32_t crc32c (uint32_t crc, const void *data, size_t len);

/* The same, always with the portable table code (for tests). */
uint32_t crc32c_sw (uint32_t crc, const void *data, size_t len);

#endif
