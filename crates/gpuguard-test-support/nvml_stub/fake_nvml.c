/* A test-only stand-in for libnvidia-ml.so: the NVML C functions gpuguard calls, answering
 * from scripted devices. The scenario is fixed at compile time (-DSCENARIO=\"ecc\") so each
 * scenario is its own library file and tests can load several in one process without sharing
 * state. Signatures and struct layouts follow nvml.h (as bound by nvml-wrapper-sys 0.10).
 *
 * Scenarios: healthy, ecc, mig, shared, mismatch, pcie (links trained down under load), orphan
 * (memory in use with no process), throttle (hardware slowdown held), throttle_blip (a power
 * brake in the first sample only).
 *
 * $FAKE_NVML_CORRECTED_FILE, when set, names a file holding GPU 0's volatile corrected ECC count;
 * it is read on every query, so a test can make the counter climb between an agent's samples. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SCENARIO
#define SCENARIO "healthy"
#endif

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_LIB_RM_VERSION_MISMATCH 18

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

typedef struct fake_gpu {
    const char *name, *uuid, *bus_id;
    unsigned int bus, pci_device_id;
    int ecc_supported;
    unsigned long long ecc_volatile_unc, ecc_aggregate_unc;
    int pages_pending;
    unsigned int remap_corr, remap_unc, remap_pending, remap_failure;
    unsigned int mig_current, mig_pending; /* 2 = MIG not supported */
    unsigned int nproc;
    unsigned int pids[4];
    unsigned long long ecc_volatile_corr, ecc_aggregate_corr;
    unsigned int retired_sbe, retired_dbe;
    unsigned int pcie_gen, pcie_gen_max, pcie_width, pcie_width_max, util_gpu;
    unsigned long long mem_total, mem_used;
    unsigned long long throttle;      /* clock throttle reasons in every sample */
    unsigned long long throttle_once; /* added to the first sample only */
    unsigned int throttle_calls;
} fake_gpu;

static fake_gpu gpus[2];
static unsigned int ngpus;
static int initialised;

static int is(const char *s) { return strcmp(SCENARIO, s) == 0; }

static void script(void) {
    fake_gpu h100 = {"NVIDIA H100 80GB HBM3", "GPU-6f2c1a0e-8d1b-4a57-b6a0-3b1f0c9d2e11", "00000000:3B:00.0", 0x3b, 0x233010DE,
                     1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, {4242}};
    fake_gpu l4 = {"NVIDIA L4", "GPU-0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "00000000:86:00.0", 0x86, 0x27B810DE,
                   0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, {0}};
    /* H100 busy on a full Gen5 x16 link, 10 GiB used by its process, only the (normal) power cap. */
    h100.pcie_gen = h100.pcie_gen_max = 5;
    h100.pcie_width = h100.pcie_width_max = 16;
    h100.util_gpu = 87;
    h100.mem_total = 80ULL << 30;
    h100.mem_used = 10ULL << 30;
    h100.throttle = 0x4; /* SwPowerCap */
    /* L4 idle: its link dropped to Gen1 to save power, which is no fault. */
    l4.pcie_gen = 1;
    l4.pcie_gen_max = 4;
    l4.pcie_width = l4.pcie_width_max = 16;
    l4.util_gpu = 0;
    l4.mem_total = 24ULL << 30;
    l4.mem_used = 0;
    l4.throttle = 0x1; /* GpuIdle */
    gpus[0] = h100;
    gpus[1] = l4;
    ngpus = 2;
    if (is("ecc")) {
        gpus[0].ecc_volatile_corr = 37;
        gpus[0].ecc_aggregate_corr = 1234;
        gpus[0].retired_sbe = 3;
        gpus[0].retired_dbe = 1;
        gpus[0].ecc_volatile_unc = 2;
        gpus[0].ecc_aggregate_unc = 5;
        gpus[0].pages_pending = 1;
        gpus[0].remap_unc = 1;
        gpus[0].remap_pending = 1;
    } else if (is("mig")) {
        gpus[0].mig_current = 1;
        gpus[0].mig_pending = 1;
        gpus[0].nproc = 2; /* two MIG slices: isolated, not time-sliced */
        gpus[0].pids[1] = 4243;
        gpus[1] = h100;
        gpus[1].uuid = "GPU-11111111-2222-4333-8444-555555555555";
        gpus[1].bus_id = "00000000:5E:00.0";
        gpus[1].mig_current = 0;
        gpus[1].mig_pending = 1;
        gpus[1].nproc = 0;
        gpus[1].mem_used = 0;
    } else if (is("shared")) {
        gpus[0].nproc = 2;
        gpus[0].pids[1] = 5151;
    } else if (is("pcie")) {
        gpus[0].pcie_gen = 2; /* Gen2 x16 under a 97% load */
        gpus[0].util_gpu = 97;
        gpus[1] = h100;
        gpus[1].uuid = "GPU-11111111-2222-4333-8444-555555555555";
        gpus[1].bus_id = "00000000:5E:00.0";
        gpus[1].pcie_width = 8; /* Gen5 x8 under a 91% load */
        gpus[1].util_gpu = 91;
    } else if (is("orphan")) {
        gpus[0].nproc = 0; /* the job was killed; its 38 GiB stayed */
        gpus[0].util_gpu = 0;
        gpus[0].mem_used = 38ULL << 30;
    } else if (is("throttle")) {
        gpus[0].throttle = 0x4 | 0x8 | 0x40; /* power cap + HW slowdown + HW thermal */
    } else if (is("throttle_blip")) {
        gpus[0].throttle_once = 0x80; /* one power-brake pulse */
    }
}

int nvmlInit_v2(void) {
    if (is("mismatch")) return NVML_ERROR_LIB_RM_VERSION_MISMATCH;
    script();
    initialised = 1;
    return NVML_SUCCESS;
}
int nvmlShutdown(void) { initialised = 0; return NVML_SUCCESS; }
const char *nvmlErrorString(int r) { (void)r; return "fake NVML error"; }

static int copy(char *dst, unsigned int len, const char *src) {
    if (strlen(src) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(dst, src);
    return NVML_SUCCESS;
}

int nvmlSystemGetDriverVersion(char *v, unsigned int len) { return initialised ? copy(v, len, "550.54.14") : NVML_ERROR_UNINITIALIZED; }
int nvmlSystemGetCudaDriverVersion_v2(int *v) { *v = 12040; return NVML_SUCCESS; }
int nvmlDeviceGetCount_v2(unsigned int *n) { if (!initialised) return NVML_ERROR_UNINITIALIZED; *n = ngpus; return NVML_SUCCESS; }

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, fake_gpu **d) {
    if (i >= ngpus) return NVML_ERROR_INVALID_ARGUMENT;
    *d = &gpus[i];
    return NVML_SUCCESS;
}
int nvmlDeviceGetName(fake_gpu *d, char *n, unsigned int len) { return copy(n, len, d->name); }
int nvmlDeviceGetUUID(fake_gpu *d, char *u, unsigned int len) { return copy(u, len, d->uuid); }
int nvmlDeviceGetPciInfo_v3(fake_gpu *d, nvmlPciInfo_t *p) {
    memset(p, 0, sizeof *p);
    p->bus = d->bus;
    p->pciDeviceId = d->pci_device_id;
    p->pciSubSystemId = 0x16C110DE;
    snprintf(p->busId, sizeof p->busId, "%s", d->bus_id);
    snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "%s", d->bus_id + 4);
    return NVML_SUCCESS;
}
int nvmlDeviceGetMigMode(fake_gpu *d, unsigned int *current, unsigned int *pending) {
    if (d->mig_current == 2) return NVML_ERROR_NOT_SUPPORTED;
    *current = d->mig_current;
    *pending = d->mig_pending;
    return NVML_SUCCESS;
}
static unsigned long long volatile_corrected(fake_gpu *d) {
    const char *path = getenv("FAKE_NVML_CORRECTED_FILE");
    unsigned long long n = d->ecc_volatile_corr;
    FILE *f = (d == &gpus[0] && path) ? fopen(path, "r") : NULL;
    if (f) {
        if (fscanf(f, "%llu", &n) != 1) n = d->ecc_volatile_corr;
        fclose(f);
    }
    return n;
}
/* errorType 0 = corrected, 1 = uncorrected; counterType 0 = volatile, 1 = aggregate. */
int nvmlDeviceGetTotalEccErrors(fake_gpu *d, int errorType, int counterType, unsigned long long *count) {
    if (!d->ecc_supported) return NVML_ERROR_NOT_SUPPORTED;
    if (errorType == 1) *count = counterType == 0 ? d->ecc_volatile_unc : d->ecc_aggregate_unc;
    else *count = counterType == 0 ? volatile_corrected(d) : d->ecc_aggregate_corr;
    return NVML_SUCCESS;
}
/* cause 0 = multiple single-bit errors, 1 = double-bit error. */
int nvmlDeviceGetRetiredPages(fake_gpu *d, int cause, unsigned int *count, unsigned long long *addresses) {
    if (!d->ecc_supported) return NVML_ERROR_NOT_SUPPORTED;
    unsigned int have = cause == 0 ? d->retired_sbe : d->retired_dbe;
    unsigned int room = *count;
    *count = have;
    for (unsigned int i = 0; i < have && i < room; i++) addresses[i] = 0x1000ULL * (i + 1);
    return room < have ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
}
int nvmlDeviceGetRetiredPagesPendingStatus(fake_gpu *d, int *state) {
    if (!d->ecc_supported) return NVML_ERROR_NOT_SUPPORTED;
    *state = d->pages_pending;
    return NVML_SUCCESS;
}
int nvmlDeviceGetRemappedRows(fake_gpu *d, unsigned int *corr, unsigned int *unc, unsigned int *pending, unsigned int *failure) {
    if (!d->ecc_supported) return NVML_ERROR_NOT_SUPPORTED;
    *corr = d->remap_corr;
    *unc = d->remap_unc;
    *pending = d->remap_pending;
    *failure = d->remap_failure;
    return NVML_SUCCESS;
}
int nvmlDeviceGetComputeRunningProcesses_v3(fake_gpu *d, unsigned int *count, nvmlProcessInfo_t *infos) {
    if (infos == NULL || *count < d->nproc) {
        unsigned int need = d->nproc;
        *count = need;
        return need == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (unsigned int i = 0; i < d->nproc; i++) {
        memset(&infos[i], 0, sizeof infos[i]);
        infos[i].pid = d->pids[i];
        infos[i].usedGpuMemory = 1ULL << 30;
        infos[i].gpuInstanceId = infos[i].computeInstanceId = 0xFFFFFFFF;
    }
    *count = d->nproc;
    return NVML_SUCCESS;
}

int nvmlDeviceGetGraphicsRunningProcesses_v3(fake_gpu *d, unsigned int *count, nvmlProcessInfo_t *infos) {
    (void)d;
    (void)infos;
    *count = 0;
    return NVML_SUCCESS;
}
int nvmlDeviceGetCurrPcieLinkGeneration(fake_gpu *d, unsigned int *v) { *v = d->pcie_gen; return NVML_SUCCESS; }
int nvmlDeviceGetMaxPcieLinkGeneration(fake_gpu *d, unsigned int *v) { *v = d->pcie_gen_max; return NVML_SUCCESS; }
int nvmlDeviceGetCurrPcieLinkWidth(fake_gpu *d, unsigned int *v) { *v = d->pcie_width; return NVML_SUCCESS; }
int nvmlDeviceGetMaxPcieLinkWidth(fake_gpu *d, unsigned int *v) { *v = d->pcie_width_max; return NVML_SUCCESS; }

typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;
int nvmlDeviceGetUtilizationRates(fake_gpu *d, nvmlUtilization_t *u) {
    u->gpu = d->util_gpu;
    u->memory = d->util_gpu / 2;
    return NVML_SUCCESS;
}

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;
int nvmlDeviceGetMemoryInfo_v2(fake_gpu *d, nvmlMemory_v2_t *m) {
    if ((m->version >> 24) != 2) return NVML_ERROR_INVALID_ARGUMENT;
    m->total = d->mem_total;
    m->reserved = 512ULL << 20; /* the driver's own, outside `used` in v2 */
    m->used = d->mem_used;
    m->free = d->mem_total - m->reserved - d->mem_used;
    return NVML_SUCCESS;
}

int nvmlDeviceGetCurrentClocksThrottleReasons(fake_gpu *d, unsigned long long *r) {
    *r = d->throttle | (d->throttle_calls++ == 0 ? d->throttle_once : 0);
    return NVML_SUCCESS;
}
