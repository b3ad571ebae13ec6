/* bcryptprimitives.dll for Wine 8.0, which has none: Go >= 1.22 programs take their random bytes
   from its ProcessPrng and stop at start-up without it ("bcryptprimitives.dll not found").
   RtlGenRandom (advapi32's SystemFunction036) gives the same. .ci/install.d/55-wine.sh builds it
   with Debian's mingw-w64 into the test prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
