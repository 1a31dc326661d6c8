//! Every XID code NVIDIA documents, with what it means and what to do. One table, so the
//! classifier, `gpuguard explain xid N` and the docs read the same words.

use crate::severity::Severity;
use serde::Serialize;

/// Where the fault most likely comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum XidCategory {
    /// The GPU itself (a chip, engine or board failure).
    Hardware,
    /// The NVIDIA kernel driver.
    Driver,
    /// The user's program (bad address, illegal instruction, killed process).
    Application,
    /// GPU memory errors: ECC, page retirement, row remapping.
    MemoryEcc,
    /// The PCIe link between host and GPU.
    PcieBus,
    /// NVLink / NVSwitch / C2C links between GPUs.
    Nvlink,
    /// Power supply or temperature.
    ThermalPower,
    /// The GPU System Processor firmware.
    GspFirmware,
    /// Display and video engines (rarely matter on compute nodes).
    Display,
    /// NVIDIA lists the code as unused or reserved, or gpuguard does not know it.
    Unknown,
}

impl XidCategory {
    /// The kebab-case name used in every output.
    ///
    /// ```
    /// assert_eq!(gpuguard::xid::XidCategory::MemoryEcc.as_str(), "memory-ecc");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            XidCategory::Hardware => "hardware",
            XidCategory::Driver => "driver",
            XidCategory::Application => "application",
            XidCategory::MemoryEcc => "memory-ecc",
            XidCategory::PcieBus => "pcie-bus",
            XidCategory::Nvlink => "nvlink",
            XidCategory::ThermalPower => "thermal-power",
            XidCategory::GspFirmware => "gsp-firmware",
            XidCategory::Display => "display",
            XidCategory::Unknown => "unknown",
        }
    }
}

/// What an operator should do, mildest first (so the worst of several is the `max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum XidAction {
    /// Informational; nothing to do.
    None,
    /// Restart (and debug) the application; the GPU is fine.
    RestartApp,
    /// Not enough is known: collect `nvidia-bug-report.sh` and ask NVIDIA support.
    Investigate,
    /// Reset the GPU (`nvidia-smi -r`) or reboot to clear the error.
    ResetGpu,
    /// Reboot the node (the GPU cannot be reset in place).
    RebootNode,
    /// Drain the node and have the GPU or board replaced (RMA).
    DrainAndReplace,
}

impl XidAction {
    /// The kebab-case name used in every output.
    ///
    /// ```
    /// assert_eq!(gpuguard::xid::XidAction::DrainAndReplace.as_str(), "drain-and-replace");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            XidAction::None => "none",
            XidAction::RestartApp => "restart-app",
            XidAction::Investigate => "investigate",
            XidAction::ResetGpu => "reset-gpu",
            XidAction::RebootNode => "reboot-node",
            XidAction::DrainAndReplace => "drain-and-replace",
        }
    }

    /// One sentence an operator can follow.
    ///
    /// ```
    /// assert!(gpuguard::xid::XidAction::ResetGpu.advice().contains("nvidia-smi"));
    /// ```
    pub fn advice(self) -> &'static str {
        match self {
            XidAction::None => "No action needed; keep it for context.",
            XidAction::RestartApp => {
                "Restart the application; if it recurs, debug it (compute-sanitizer, cuda-gdb) before blaming the GPU."
            }
            XidAction::Investigate => {
                "Collect nvidia-bug-report.sh and the surrounding log; contact NVIDIA support if it recurs."
            }
            XidAction::ResetGpu => {
                "Stop the GPU's workloads and reset it (nvidia-smi -r -i <gpu>) or reboot; drain the node if it recurs."
            }
            XidAction::RebootNode => "Drain the node and reboot it; the GPU cannot be recovered in place.",
            XidAction::DrainAndReplace => {
                "Drain the node, run field diagnostics (dcgmi diag -r 3) and have the GPU replaced if it repeats."
            }
        }
    }
}

/// What one XID code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XidInfo {
    /// The XID number.
    pub code: u32,
    /// The driver's name for the code, as NVIDIA's XID catalog lists it (`ROBUST_CHANNEL_GPU_ECC_DBE`).
    pub mnemonic: &'static str,
    /// Short name, close to NVIDIA's description.
    pub name: &'static str,
    /// What it means, in a sentence or two.
    pub meaning: &'static str,
    /// Most likely cause.
    pub category: XidCategory,
    /// How bad it is for a running job.
    pub severity: Severity,
    /// What to do.
    pub action: XidAction,
    /// NVIDIA's immediate-action bucket from the XID catalog (`RESTART_APP`, `RESET_GPU`,
    /// `RESTART_BM`, `WORKFLOW_XID_48`, …), for tools that automate on NVIDIA's words; `None`
    /// where the catalog gives none (codes it lists as unused, and 162–172 whose guidance is prose).
    pub nvidia_action: Option<&'static str>,
    /// True when NVIDIA's current catalog (Ampere and newer) lists the code as unused: the name and
    /// meaning then come from its older Xid page, for the GPUs that still log it.
    pub legacy: bool,
    /// False for codes NVIDIA does not document (or lists as unused): reported, never dropped.
    pub known: bool,
}

use Severity::{Error as E, Info as I, Warning as W};
use XidAction::{
    DrainAndReplace as Replace, Investigate as Inv, None as NoAct, RebootNode as Reboot, ResetGpu as Reset,
    RestartApp as Restart,
};
use XidCategory::{
    Application as App, Display as Disp, Driver as Drv, GspFirmware as Gsp, Hardware as Hw, MemoryEcc as Mem,
    Nvlink as Nvl, PcieBus as Pcie, ThermalPower as Pwr, Unknown as Unk,
};

const PUSHBUF: &str =
    "The GPU rejected a command stream: usually the application or driver, sometimes memory corruption or the bus.";
const VIDEO: &str =
    "A video encode/decode, JPEG or optical-flow engine raised an exception; compute jobs are rarely affected.";
const COPY: &str = "A copy engine raised an exception; usually driven by the application, rarely the hardware.";
const DISPLAY: &str = "The display engine reported an error; it does not affect compute work.";
const NVLINK5: &str = "An NVLink 5 block reported an error. The message names the sub-unit and says Fatal or Nonfatal: a fatal one takes the link (or the GPU) down and needs a GPU reset, a non-fatal one is logged for telemetry. NVIDIA's catalog decodes the IntrInfo and status words for the exact action.";
const SPI: &str = "The driver could not talk to the board's SPI flash / InfoROM through the PMU.";
const PSHC: &str = "The board's power-smoothing circuitry changed state; compute work continues, but the power draw the facility sees may swing.";

// x!: a code NVIDIA's current catalog describes. old!: one it lists as unused on Ampere and newer,
// described from its older Xid page (Volta and before still log them).
macro_rules! x {
    ($code:expr, $mn:expr, $name:expr, $meaning:expr, $cat:expr, $sev:expr, $act:expr, $nv:expr) => {
        XidInfo {
            code: $code,
            mnemonic: $mn,
            name: $name,
            meaning: $meaning,
            category: $cat,
            severity: $sev,
            action: $act,
            nvidia_action: $nv,
            legacy: false,
            known: true,
        }
    };
}
macro_rules! old {
    ($code:expr, $mn:expr, $name:expr, $meaning:expr, $cat:expr, $sev:expr, $act:expr) => {
        XidInfo {
            code: $code,
            mnemonic: $mn,
            name: $name,
            meaning: $meaning,
            category: $cat,
            severity: $sev,
            action: $act,
            nvidia_action: None,
            legacy: true,
            known: true,
        }
    };
}
const fn nv(bucket: &'static str) -> Option<&'static str> {
    Some(bucket)
}

/// The table, sorted by code (a test checks it) so lookup is a binary search. Checked against
/// NVIDIA's "Analyzing Xid Errors with the Xid Catalog" (codes 1–172, immediate actions) and
/// its older "Xid Errors" page for the codes the catalog lists as unused.
static XIDS: &[XidInfo] = &[
    old!(
        1,
        "ROBUST_CHANNEL_FIFO_ERROR_FIFO_METHOD",
        "Invalid or corrupted push buffer stream",
        PUSHBUF,
        Drv,
        W,
        Restart
    ),
    old!(2, "ROBUST_CHANNEL_FIFO_ERROR_SW_METHOD", "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    old!(
        3,
        "ROBUST_CHANNEL_FIFO_ERROR_UNK_METHOD",
        "Invalid or corrupted push buffer stream",
        PUSHBUF,
        Drv,
        W,
        Restart
    ),
    old!(
        4,
        "ROBUST_CHANNEL_FIFO_ERROR_CHANNEL_BUSY",
        "Invalid or corrupted push buffer stream / GPU semaphore timeout",
        PUSHBUF,
        Drv,
        W,
        Restart
    ),
    old!(6, "ROBUST_CHANNEL_FIFO_ERROR_PARSE_ERR", "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    old!(7, "ROBUST_CHANNEL_FIFO_ERROR_PTE_ERR", "Invalid or corrupted push buffer address", PUSHBUF, Drv, W, Restart),
    x!(
        8,
        "ROBUST_CHANNEL_FIFO_ERROR_IDLE_TIMEOUT",
        "GPU stopped processing",
        "A channel stopped making progress (a hung kernel or a driver/hardware fault); the job is killed. Restart it; contact support if it recurs.",
        Drv,
        E,
        Restart,
        nv("RESTART_APP")
    ),
    old!(
        9,
        "ROBUST_CHANNEL_GR_ERROR_INSTANCE",
        "Driver error programming GPU",
        "The driver programmed the GPU wrongly.",
        Drv,
        W,
        Inv
    ),
    x!(
        11,
        "ROBUST_CHANNEL_GR_ERROR_MISSING_HW",
        "Invalid or corrupted push buffer stream",
        PUSHBUF,
        Drv,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    old!(
        12,
        "ROBUST_CHANNEL_GR_ERROR_SW_METHOD",
        "Driver error handling GPU exception",
        "The driver failed while handling a GPU exception.",
        Drv,
        W,
        Inv
    ),
    x!(
        13,
        "ROBUST_CHANNEL_GR_EXCEPTION",
        "Graphics engine exception",
        "A kernel faulted on the GPU: out-of-bounds access, illegal instruction or register. Usually the application (rarely a driver or hardware fault); the GPU stays healthy. Debug with compute-sanitizer or cuda-gdb; the same GPC/TPC repeating across apps points at hardware (run DCGM diagnostics).",
        App,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    x!(
        14,
        "ROBUST_CHANNEL_FAKE_ERROR",
        "Injected error",
        "A fake error injected from user space (error-injection testing); nothing is wrong.",
        App,
        I,
        NoAct,
        nv("IGNORE")
    ),
    old!(16, "ROBUST_CHANNEL_VBLANK_CALLBACK_TIMEOUT", "Display engine hung", DISPLAY, Disp, I, NoAct),
    old!(
        18,
        "ROBUST_CHANNEL_BUS_MASTER_TIMEOUT_ERROR",
        "Bus mastering disabled in PCI config space",
        "The GPU lost bus mastering in PCI config space; the device cannot DMA.",
        Pcie,
        E,
        Reboot
    ),
    old!(19, "ROBUST_CHANNEL_DISP_MISSED_NOTIFIER", "Display engine error", DISPLAY, Disp, I, NoAct),
    old!(20, "ROBUST_CHANNEL_MPEG_ERROR_SW_METHOD", "Invalid or corrupted MPEG push buffer", VIDEO, Drv, W, Restart),
    old!(
        21,
        "ROBUST_CHANNEL_ME_ERROR_SW_METHOD",
        "Invalid or corrupted motion estimation push buffer",
        VIDEO,
        Drv,
        W,
        Restart
    ),
    old!(
        22,
        "ROBUST_CHANNEL_VP_ERROR_SW_METHOD",
        "Invalid or corrupted video processor push buffer",
        VIDEO,
        Drv,
        W,
        Restart
    ),
    old!(
        24,
        "ROBUST_CHANNEL_GR_SEMAPHORE_TIMEOUT",
        "GPU semaphore timeout",
        "A GPU semaphore wait timed out: application, driver, or thermal/power trouble.",
        Drv,
        W,
        Restart
    ),
    x!(
        25,
        "ROBUST_CHANNEL_GR_ILLEGAL_NOTIFY",
        "Invalid or illegal push buffer stream",
        PUSHBUF,
        Drv,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    old!(
        26,
        "ROBUST_CHANNEL_FIFO_ERROR_FBISTATE_TIMEOUT",
        "Framebuffer timeout",
        "An access to GPU memory timed out.",
        Hw,
        E,
        Reset
    ),
    old!(27, "ROBUST_CHANNEL_VP_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    old!(28, "ROBUST_CHANNEL_VP2_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    old!(29, "ROBUST_CHANNEL_BSP_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    old!(
        30,
        "ROBUST_CHANNEL_BAD_ADDR_ACCESS",
        "GPU semaphore access error",
        "A semaphore access failed.",
        Drv,
        W,
        Restart
    ),
    x!(
        31,
        "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT",
        "GPU memory page fault",
        "The MMU reported an illegal address access (an invalid pointer). Usually an application bug, occasionally the driver or hardware; restarting clears it. Repeated faults on the same GPU across applications point at hardware (run DCGM diagnostics).",
        App,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    x!(
        32,
        "ROBUST_CHANNEL_PBDMA_ERROR",
        "Invalid or corrupted push buffer stream (PBDMA)",
        "The DMA engine that fetches commands over PCIe reported a fault: mostly PCIe signal quality or a bad riser, rarely the application. Restart the job; repeats on one GPU mean its link needs service.",
        Pcie,
        E,
        Restart,
        nv("RESTART_APP")
    ),
    old!(
        33,
        "ROBUST_CHANNEL_SEC_ERROR",
        "Internal micro-controller error",
        "An on-GPU micro-controller reported an error.",
        Drv,
        W,
        Inv
    ),
    old!(34, "ROBUST_CHANNEL_MSVLD_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    old!(35, "ROBUST_CHANNEL_MSPDEC_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    old!(36, "ROBUST_CHANNEL_MSPPP_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    x!(
        37,
        "ROBUST_CHANNEL_FECS_ERR_UNIMP_FIRMWARE_METHOD",
        "Driver firmware error",
        "The graphics engine's firmware was sent a method it does not implement: usually the application's CUDA/driver stack; the GPU keeps working.",
        Drv,
        W,
        NoAct,
        nv("IGNORE")
    ),
    x!(
        38,
        "ROBUST_CHANNEL_FECS_ERR_WATCHDOG_TIMEOUT",
        "Driver firmware error",
        "The graphics engine's firmware watchdog timed out: a driver or firmware problem. Nothing to recover now; report it if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(39, "ROBUST_CHANNEL_CE0_ERROR", "CE0: copy engine exception", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(40, "ROBUST_CHANNEL_CE1_ERROR", "CE1: copy engine exception", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(41, "ROBUST_CHANNEL_CE2_ERROR", "CE2: copy engine exception", COPY, Drv, W, Restart, nv("RESTART_APP")),
    old!(42, "ROBUST_CHANNEL_VIC_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    x!(
        43,
        "ROBUST_CHANNEL_RESETCHANNEL_VERIF_ERROR",
        "GPU stopped processing (reset channel verification error)",
        "The application hit a software-induced fault and was stopped; the GPU stays healthy. Restart (and debug) the application.",
        App,
        W,
        Restart,
        nv("IGNORE")
    ),
    x!(
        44,
        "ROBUST_CHANNEL_GR_FAULT_DURING_CTXSW",
        "Graphics engine fault during context switch",
        "A fault during a context switch. NVIDIA asks for no recovery action; report it if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        45,
        "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL",
        "Preemptive cleanup, due to previous errors",
        "The driver tore down a process's GPU work: Ctrl-C, kill, a GPU reset, or a previous error (most often after another XID, such as a DBE). A follow-on event: act on the XID it follows.",
        App,
        I,
        NoAct,
        nv("WORKFLOW_XID_45")
    ),
    x!(
        46,
        "ROBUST_CHANNEL_GPU_TIMEOUT_ERROR",
        "GPU stopped processing",
        "The GPU stopped processing work and must be reset.",
        Drv,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    old!(47, "ROBUST_CHANNEL_NVENC0_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    x!(
        48,
        "ROBUST_CHANNEL_GPU_ECC_DBE",
        "Double-bit ECC error (DBE)",
        "An uncorrectable double-bit ECC error in GPU memory: results may be corrupt. Hardware failure; a reset remaps the bad memory (drain and reset when 63/64 follow), field diagnostics decide, and repeats mean the GPU must be replaced.",
        Mem,
        E,
        Replace,
        nv("WORKFLOW_XID_48")
    ),
    x!(
        54,
        "SILENT_RUNNING_PWR_REDUCED_CLOCKING",
        "Auxiliary power is not connected to the GPU board",
        "The board's auxiliary power cable is missing or failed and the GPU runs at reduced clocks. Check the seating and every power connection.",
        Pwr,
        E,
        Replace,
        nv("CHECK_MECHANICALS")
    ),
    old!(56, "DISPLAY_CHANNEL_EXCEPTION", "Display engine error", DISPLAY, Disp, I, NoAct),
    old!(
        57,
        "FB_LINK_TRAINING_FAILURE_ERROR",
        "Error programming video memory interface",
        "The memory interface could not be programmed: a hardware or driver problem.",
        Hw,
        E,
        Reset
    ),
    old!(
        58,
        "FB_MEMORY_ERROR",
        "Unstable video memory interface detected",
        "The memory interface is unstable (EDC errors): hardware.",
        Hw,
        E,
        Replace
    ),
    old!(
        59,
        "PMU_ERROR",
        "Internal micro-controller error (older drivers)",
        "An on-GPU micro-controller failed.",
        Hw,
        E,
        Reset
    ),
    x!(
        60,
        "ROBUST_CHANNEL_SEC2_ERROR",
        "Video processor exception",
        "The SEC2 security engine raised an exception; restart the application.",
        Drv,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    old!(
        61,
        "PMU_BREAKPOINT",
        "Internal micro-controller breakpoint/warning",
        "The PMU micro-controller hit a breakpoint or warning; often precedes a hang.",
        Hw,
        E,
        Reset
    ),
    x!(
        62,
        "PMU_HALT_ERROR",
        "Internal micro-controller halt",
        "The PMU micro-controller halted; the GPU must be reset, and contact support if it repeats.",
        Hw,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        63,
        "INFOROM_DRAM_RETIREMENT_EVENT",
        "ECC page retirement or row remapping recorded",
        "A memory page was retired or a row remapped after ECC errors: the GPU healed the bad memory itself, and the driver asks for a reset to activate the remap (\"reset gpu to activate\"). One remap is not a failing GPU; remaps that keep coming, or a failed one (XID 64), are the replace signal.",
        Mem,
        W,
        Reset,
        nv("IGNORE")
    ),
    x!(
        64,
        "INFOROM_DRAM_RETIREMENT_FAILURE",
        "ECC page retirement or row remapping failure",
        "The GPU could not record a page retirement or row remap: the memory is failing and cannot heal itself. Reset it now and have it replaced.",
        Mem,
        E,
        Replace,
        nv("RESET_GPU")
    ),
    old!(65, "ROBUST_CHANNEL_NVENC1_ERROR", "Video processor exception", VIDEO, Drv, W, Restart),
    x!(
        66,
        "ROBUST_CHANNEL_FECS_ERR_REG_ACCESS_VIOLATION",
        "Illegal access by driver",
        "The driver made an illegal register access; report it if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        67,
        "ROBUST_CHANNEL_FECS_ERR_VERIF_VIOLATION",
        "Illegal access by driver",
        "The driver made an illegal access; report it if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(68, "ROBUST_CHANNEL_NVDEC0_ERROR", "NVDEC0 exception", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        69,
        "ROBUST_CHANNEL_GR_CLASS_ERROR",
        "Graphics engine class error",
        "The graphics engine rejected a class/method: usually the application or driver.",
        Drv,
        W,
        Restart,
        nv("RESTART_APP")
    ),
    x!(70, "ROBUST_CHANNEL_CE3_ERROR", "CE3: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(71, "ROBUST_CHANNEL_CE4_ERROR", "CE4: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(72, "ROBUST_CHANNEL_CE5_ERROR", "CE5: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    old!(73, "ROBUST_CHANNEL_NVENC2_ERROR", "NVENC2 error", VIDEO, Drv, W, Restart),
    x!(
        74,
        "NVLINK_ERROR",
        "NVLink error",
        "An NVLink link between GPUs or to an NVSwitch failed. The link or the device at its far end is at fault (a failed peer makes its neighbours log 74 too). Reset the GPUs; replace hardware if it repeats.",
        Nvl,
        E,
        Reset,
        nv("WORKFLOW_NVLINK_ERR")
    ),
    x!(75, "ROBUST_CHANNEL_CE6_ERROR", "CE6: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(76, "ROBUST_CHANNEL_CE7_ERROR", "CE7: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(77, "ROBUST_CHANNEL_CE8_ERROR", "CE8: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        78,
        "VGPU_START_ERROR",
        "vGPU start error",
        "A virtual GPU failed to start: the guest driver is incompatible with the host driver, or the vGPU type does not fit the guest OS or GPU. Update the software and firmware.",
        Drv,
        W,
        Inv,
        nv("UPDATE_SWFW")
    ),
    x!(
        79,
        "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS",
        "GPU has fallen off the bus",
        "The GPU stopped answering on PCIe: hardware, power, thermal or a bad slot/riser. Every job on it is lost; the node must be rebooted and the GPU checked or replaced.",
        Pcie,
        E,
        Reboot,
        nv("RESTART_BM")
    ),
    x!(
        80,
        "PBDMA_PUSHBUFFER_CRC_MISMATCH",
        "Corrupted data sent to GPU",
        "A command stream arrived corrupted (CRC mismatch): the application passed bad data, or the bus corrupted it.",
        Pcie,
        E,
        Restart,
        nv("RESTART_APP")
    ),
    old!(81, "ROBUST_CHANNEL_VGA_SUBSYSTEM_ERROR", "VGA subsystem error", DISPLAY, Disp, W, Reset),
    x!(82, "ROBUST_CHANNEL_NVJPG0_ERROR", "NVJPG0 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(83, "ROBUST_CHANNEL_NVDEC1_ERROR", "NVDEC1 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(84, "ROBUST_CHANNEL_NVDEC2_ERROR", "NVDEC2 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(85, "ROBUST_CHANNEL_CE9_ERROR", "CE9: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(86, "ROBUST_CHANNEL_OFA0_ERROR", "OFA exception", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(88, "ROBUST_CHANNEL_NVDEC3_ERROR", "NVDEC3 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(89, "ROBUST_CHANNEL_NVDEC4_ERROR", "NVDEC4 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        92,
        "EXCESSIVE_SBE_INTERRUPTS",
        "High single-bit ECC error rate",
        "Corrected (single-bit) ECC errors are arriving fast: nothing is lost yet, but it is the leading sign of an uncorrectable failure. Watch the corrected-error rate and report it.",
        Mem,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        93,
        "INFOROM_ERASE_LIMIT_EXCEEDED",
        "Non-fatal violation of provisioned InfoROM wear limit",
        "The driver could not update the InfoROM because the wear limit set with nvflash was reached (usually intentional); clear it with nvflash --elsessionclear.",
        Hw,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        94,
        "ROBUST_CHANNEL_CONTAINED_ERROR",
        "Contained ECC error",
        "An uncorrectable ECC error was contained to the applications that touched the memory: they must restart, other work continues. Reset the GPU when convenient so the row is remapped.",
        Mem,
        E,
        Restart,
        nv("RESTART_APP")
    ),
    x!(
        95,
        "ROBUST_CHANNEL_UNCONTAINED_ERROR",
        "Uncontained ECC error",
        "An uncorrectable ECC error could not be contained: every application on the GPU is affected and the GPU must be reset before reuse.",
        Mem,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(96, "ROBUST_CHANNEL_NVDEC5_ERROR", "NVDEC5 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(97, "ROBUST_CHANNEL_NVDEC6_ERROR", "NVDEC6 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(98, "ROBUST_CHANNEL_NVDEC7_ERROR", "NVDEC7 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(99, "ROBUST_CHANNEL_NVJPG1_ERROR", "NVJPG1 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(100, "ROBUST_CHANNEL_NVJPG2_ERROR", "NVJPG2 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(101, "ROBUST_CHANNEL_NVJPG3_ERROR", "NVJPG3 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(102, "ROBUST_CHANNEL_NVJPG4_ERROR", "NVJPG4 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(103, "ROBUST_CHANNEL_NVJPG5_ERROR", "NVJPG5 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(104, "ROBUST_CHANNEL_NVJPG6_ERROR", "NVJPG6 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(105, "ROBUST_CHANNEL_NVJPG7_ERROR", "NVJPG7 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        106,
        "SMBPBI_TEST_MESSAGE",
        "SMBPBI test message",
        "A test message sent through the out-of-band management interface.",
        Drv,
        I,
        NoAct,
        nv("IGNORE")
    ),
    x!(
        107,
        "SMBPBI_TEST_MESSAGE_SILENT",
        "SMBPBI test message (silent)",
        "A silent test message sent through the out-of-band management interface.",
        Drv,
        I,
        NoAct,
        nv("IGNORE")
    ),
    x!(
        108,
        "NVLINK_REMOTE_TRANSLATION_ERROR",
        "NVLink remote translation error",
        "A peer-to-peer access over NVLink could not be translated (NVIDIA lists the code as unused and handles it like XID 137): usually an application bug.",
        Nvl,
        W,
        Restart,
        nv("IGNORE")
    ),
    x!(
        109,
        "ROBUST_CHANNEL_CTXSW_TIMEOUT_ERROR",
        "Context switch timeout",
        "A context switch did not finish in time: an application that does not yield, a driver or a hardware problem. Reset the GPU.",
        Drv,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        110,
        "SEC_FAULT_ERROR",
        "Security fault",
        "The GPU's security processor reported a fault, which should not happen unless hardware failed. Revert recent hardware changes and cold-reset (power-cycle) the node; call the vendor if it stays.",
        Hw,
        E,
        Reboot,
        nv("RESET_GPU")
    ),
    old!(111, "BUNDLE_ERROR_EVENT", "Display bundle error event", DISPLAY, Disp, I, NoAct),
    old!(112, "DISP_SUPERVISOR_ERROR", "Display supervisor error", DISPLAY, Disp, I, NoAct),
    old!(113, "DP_LT_FAILURE", "DisplayPort link training error", DISPLAY, Disp, I, NoAct),
    old!(114, "HEAD_RG_UNDERFLOW", "Display pipeline underflow", DISPLAY, Disp, I, NoAct),
    old!(115, "CORE_CHANNEL_REGS", "Display core channel error", DISPLAY, Disp, I, NoAct),
    old!(116, "WINDOW_CHANNEL_REGS", "Display window channel error", DISPLAY, Disp, I, NoAct),
    old!(117, "CURSOR_CHANNEL_REGS", "Display cursor channel error", DISPLAY, Disp, I, NoAct),
    old!(118, "HEAD_REGS", "Display pixel pipeline error", DISPLAY, Disp, I, NoAct),
    x!(
        119,
        "GSP_RPC_TIMEOUT",
        "GSP RPC timeout",
        "The driver timed out waiting for the GPU System Processor firmware. The GPU is unusable until reset (power-cycle if that fails); recurring ones point at the driver/firmware.",
        Gsp,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        120,
        "GSP_ERROR",
        "GSP error",
        "Code on the GPU System Processor failed; reset the GPU (power-cycle the node if it persists).",
        Gsp,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        121,
        "C2C_ERROR",
        "C2C link error",
        "The driver saw corrected errors on the chip-to-chip NVLink to a Grace CPU. The system corrected them and work goes on; reset the GPU at the next service window to retrain the link.",
        Nvl,
        W,
        Reset,
        nv("IGNORE")
    ),
    old!(122, "SPI_PMU_RPC_READ_FAIL", "SPI PMU RPC read failure", SPI, Hw, W, Inv),
    old!(123, "SPI_PMU_RPC_WRITE_FAIL", "SPI PMU RPC write failure", SPI, Hw, W, Inv),
    old!(124, "SPI_PMU_RPC_ERASE_FAIL", "SPI PMU RPC erase failure", SPI, Hw, W, Inv),
    old!(
        125,
        "INFOROM_FS_ERROR",
        "InfoROM filesystem failure",
        "The InfoROM's filesystem could not be read or written.",
        Hw,
        W,
        Inv
    ),
    x!(126, "ROBUST_CHANNEL_CE10_ERROR", "CE10: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(127, "ROBUST_CHANNEL_CE11_ERROR", "CE11: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(128, "ROBUST_CHANNEL_CE12_ERROR", "CE12: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(129, "ROBUST_CHANNEL_CE13_ERROR", "CE13: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(130, "ROBUST_CHANNEL_CE14_ERROR", "CE14: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(131, "ROBUST_CHANNEL_CE15_ERROR", "CE15: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(132, "ROBUST_CHANNEL_CE16_ERROR", "CE16: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(133, "ROBUST_CHANNEL_CE17_ERROR", "CE17: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(134, "ROBUST_CHANNEL_CE18_ERROR", "CE18: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(135, "ROBUST_CHANNEL_CE19_ERROR", "CE19: unknown error", COPY, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        136,
        "ALI_TRAINING_FAIL",
        "NVLink link training failed",
        "An NVLink link failed to train: signal integrity, a cable or seating. Reset the GPU; investigate the link if it repeats.",
        Nvl,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        137,
        "NVLINK_PRIV_ERR",
        "NVLink privilege error",
        "The remote MMU refused an illegal NVLink peer-to-peer access: usually an application bug (debug it with compute-sanitizer or cuda-gdb), rarely the driver or hardware.",
        Nvl,
        W,
        Restart,
        nv("IGNORE")
    ),
    x!(139, "ROBUST_CHANNEL_OFA1_ERROR", "OFA1 error", VIDEO, Drv, W, Restart, nv("RESTART_APP")),
    x!(
        140,
        "UNRECOVERABLE_ECC_ERROR_ESCAPE",
        "Unrecovered ECC error",
        "Uncorrectable errors in GPU memory struck in a way that kept the driver from retiring or remapping the pages. Reset the GPU; if it persists, have it serviced.",
        Mem,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        141,
        "ROBUST_CHANNEL_FAST_PATH_ERROR",
        "CUDA fast path error",
        "The CUDA fast path reported an error; nothing to recover now, report it if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(142, "ROBUST_CHANNEL_NVENC3_ERROR", "NVENC3 error", VIDEO, Drv, W, Inv, nv("CONTACT_SUPPORT")),
    x!(
        143,
        "GPU_INIT_ERROR",
        "GPU initialization failure",
        "The GPU failed to initialise. Reset it (reboot if the reset fails) and have it serviced if it keeps failing.",
        Hw,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(144, "NVLINK_SAW_ERROR", "NVLink SAW error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(145, "NVLINK_RLW_ERROR", "NVLink RLW error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(146, "NVLINK_TLW_ERROR", "NVLink TLW error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(147, "NVLINK_TREX_ERROR", "NVLink TREX error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(148, "NVLINK_NVLPW_CTRL_ERROR", "NVLink NVLPW_CTRL error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(149, "NVLINK_NETIR_ERROR", "NVLink NETIR error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(150, "NVLINK_MSE_ERROR", "NVLink MSE error", NVLINK5, Nvl, E, Reset, nv("WORKFLOW_NVLINK5_ERR")),
    x!(
        151,
        "ROBUST_CHANNEL_KEY_ROTATION_ERROR",
        "Key rotation error",
        "Confidential-computing key rotation failed; the VM that owns the GPU must be restarted.",
        Drv,
        E,
        Reboot,
        nv("RESTART_VM")
    ),
    x!(
        152,
        "ROBUST_CHANNEL_DLA_SMMU_ERROR",
        "DLA SMMU error",
        "The deep-learning accelerator's SMMU reported an error (Jetson-class parts, not data-centre GPUs).",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        153,
        "ROBUST_CHANNEL_DLA_TIMEOUT",
        "DLA timeout",
        "The deep-learning accelerator timed out (Jetson-class parts, not data-centre GPUs).",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        154,
        "GPU_RECOVERY_ACTION_CHANGED",
        "GPU recovery action changed",
        "The driver states which recovery the GPU now needs (None, Drain P2P, Drain and Reset, GPU Reset Required, Node Reboot Required); the text after the code names it. It always accompanies the error that caused it.",
        Drv,
        W,
        Reset,
        nv("XID_154")
    ),
    x!(
        155,
        "NVLINK_SW_DEFINED_ERROR",
        "NVLink software-defined error",
        "An NVLink link went down in a way flagged as intentional (including transitions to sleep). Reset the GPU; find out which software or user did it if it was not expected.",
        Nvl,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        156,
        "RESOURCE_RETIREMENT_EVENT",
        "Resource retirement event",
        "The GPU retired a failing resource to repair itself; reset it to apply the repair.",
        Mem,
        W,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        157,
        "RESOURCE_RETIREMENT_FAILURE",
        "Resource retirement failure",
        "The GPU has no spare resources left to repair itself: workloads still run but the same error will come back. Contact support and plan the replacement.",
        Mem,
        E,
        Inv,
        nv("IGNORE")
    ),
    x!(
        158,
        "GPU_FATAL_TIMEOUT",
        "GPU fatal timeout",
        "A fatal timeout inside the GPU; it needs a reset.",
        Hw,
        E,
        Reset,
        nv("RESET_GPU")
    ),
    x!(
        159,
        "ROBUST_CHANNEL_CHI_NON_DATA_ERROR",
        "CHI non-data error",
        "The coherent hub interface on a C2C-linked GPU reported an error, usually alongside another. Reset the GPU if UVM or vGPU is in use; otherwise act on the other error.",
        Nvl,
        W,
        Reset,
        nv("CHECK_UVM")
    ),
    x!(
        160,
        "CHANNEL_RETIREMENT_EVENT",
        "Channel retirement event",
        "A GPU channel was retired after errors; no recovery needed, investigate the software if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(
        161,
        "CHANNEL_RETIREMENT_FAILURE",
        "Channel retirement failure",
        "The GPU could not retire a failing channel; no recovery needed now, investigate the software if it recurs.",
        Drv,
        W,
        Inv,
        nv("IGNORE")
    ),
    x!(162, "PSHC_REENGAGED", "Power smoothing re-engaged", PSHC, Pwr, I, NoAct, None),
    x!(
        163,
        "PSHC_DISENGAGED",
        "Power smoothing disengaged",
        "The power-smoothing circuitry switched off (thermal events, or a timeout). No GPU reset is needed; resolve the thermal events, or reload the driver / reset the GPU after a timeout, if smoothing is wanted.",
        Pwr,
        W,
        Inv,
        None
    ),
    x!(
        164,
        "PSHC_LOW_LIFETIME",
        "Power smoothing low lifetime",
        "The power-smoothing circuitry is near the end of its life and will be disabled soon: decide whether the facility can take the power swings, or plan replacements.",
        Pwr,
        W,
        Inv,
        None
    ),
    x!(
        165,
        "PSHC_ZERO_LIFETIME",
        "Power smoothing lifetime exhausted",
        "The power-smoothing circuitry is worn out and disabled; the power draw will swing. Replace the GPU if the facility cannot absorb the swings.",
        Pwr,
        W,
        Inv,
        None
    ),
    x!(
        166,
        "NVLINK_SECURE_CRYPTO_ERR",
        "NVLink encrypted traffic before setup",
        "Confidential-computing traffic reached an NVLink link before it was configured for encryption (CC mode only).",
        Nvl,
        E,
        Inv,
        None
    ),
    x!(
        167,
        "PCIE_FATAL_TIMEOUT",
        "PCIe fatal timeout",
        "A PCIe transaction to the GPU timed out fatally; the GPU is unreachable like XID 79. Reboot the node and check the slot, riser and GPU.",
        Pcie,
        E,
        Reboot,
        None
    ),
    x!(
        168,
        "REDUCED_GPU_MEMORY_CAPACITY",
        "Errors in the write-protected region",
        "Memory errors were found in the write-protected region at boot (seen with ECC disabled). Enable ECC so rows can be remapped, or reboot to retry with a shifted region.",
        Mem,
        E,
        Reboot,
        None
    ),
    x!(
        169,
        "SEC2_HALT_ERROR",
        "Internal micro-controller halt (SEC2)",
        "The SEC2 micro-controller halted; reset the GPU.",
        Hw,
        E,
        Reset,
        None
    ),
    x!(
        170,
        "NVLINK_SECURE_OTHER",
        "NVLink interrupt in CC mode",
        "An NVLink interrupt arrived in confidential-computing mode (CC mode only).",
        Nvl,
        W,
        Inv,
        None
    ),
    x!(
        171,
        "UNCORRECTABLE_DRAM_ERROR",
        "Uncorrectable DRAM error (with XID 48)",
        "Detail for an XID 48: the uncorrectable error was in DRAM (HBM). Follows the 48; act on it.",
        Mem,
        E,
        Replace,
        None
    ),
    x!(
        172,
        "UNCORRECTABLE_SRAM_ERROR",
        "Uncorrectable SRAM error (with XID 48)",
        "Detail for an XID 48: the uncorrectable error was in on-chip SRAM. Check the SRAM error-threshold flag (nvidia-smi -q) and run field diagnostics if it is set.",
        Mem,
        E,
        Replace,
        None
    ),
];

/// Codes NVIDIA's catalog lists only as unused, with the driver's mnemonic: classified as
/// unknown (`known: false`) but named, so a report still says what the driver called it.
static UNUSED: &[(u32, &str)] = &[
    (5, "ROBUST_CHANNEL_FIFO_ERROR_RUNOUT_OVERFLOW"),
    (10, "ROBUST_CHANNEL_GR_ERROR_SINGLE_STEP"),
    (15, "ROBUST_CHANNEL_SCANLINE_TIMEOUT"),
    (17, "ROBUST_CHANNEL_PARAMETER_ERROR"),
    (23, "ROBUST_CHANNEL_RC_LOGGING_ENABLED"),
    (49, "SILENT_RUNNING_CONSTANT_LEVEL_SET_BY_REGISTRY"),
    (50, "SILENT_RUNNING_LEVEL_TRANSITION_DUE_TO_RC_ERROR"),
    (51, "SILENT_RUNNING_STRESS_TEST_FAILURE"),
    (52, "SILENT_RUNNING_LEVEL_TRANS_DUE_TO_TEMP_RISE"),
    (53, "SILENT_RUNNING_TEMP_REDUCED_CLOCKING"),
    (55, "SILENT_RUNNING_TEMPERATURE_READ_ERROR"),
    (87, "NVTELEMETRY_DRIVER_REPORT"),
    (90, "LTC_ERROR"),
    (91, "RESERVED_XID"),
    (138, "ROBUST_CHANNEL_DLA_ERROR"),
];

/// What an XID code means. Unknown or unused codes come back with `known: false`, category
/// `unknown` and action `investigate`, never as an error, so no event is ever dropped.
///
/// ```
/// use gpuguard::xid::{classify_xid, XidAction, XidCategory};
/// let dbe = classify_xid(48);
/// assert_eq!(dbe.category, XidCategory::MemoryEcc);
/// assert_eq!(dbe.action, XidAction::DrainAndReplace);
/// assert_eq!(classify_xid(79).action, XidAction::RebootNode);
/// assert!(!classify_xid(9999).known);
/// ```
pub fn classify_xid(code: u32) -> XidInfo {
    match XIDS.binary_search_by_key(&code, |x| x.code) {
        Ok(i) => XIDS[i],
        Err(_) => {
            let unused = UNUSED.binary_search_by_key(&code, |u| u.0).ok().map(|i| UNUSED[i].1);
            XidInfo {
                code,
                mnemonic: unused.unwrap_or(""),
                name: if unused.is_some() { "Unused XID" } else { "Unknown XID" },
                meaning: match unused {
                    Some(_) => {
                        "NVIDIA lists this code as unused, so no current driver should log it; treat it as a fault to investigate."
                    }
                    None => {
                        "NVIDIA does not document this code; treat it as a fault to investigate (a newer driver may have added it)."
                    }
                },
                category: Unk,
                severity: W,
                action: Inv,
                nvidia_action: None,
                legacy: false,
                known: false,
            }
        }
    }
}

/// The recovery an XID 154 message says the GPU now needs ("GPU recovery action changed from
/// 0x0 (None) to 0x2 (Node Reboot Required)"), read from the label after "to", or from its
/// number (NVML's nvmlGpuRecoveryAction_t) when the label is missing. `None` when the text names
/// neither.
///
/// ```
/// use gpuguard::xid::{XidAction, recovery_action_154};
/// let m = "GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)";
/// assert_eq!(recovery_action_154(m), Some(XidAction::RebootNode));
/// assert_eq!(recovery_action_154("changed from 0x1 to 0x0"), Some(XidAction::None));
/// assert_eq!(recovery_action_154("no action named"), None);
/// ```
pub fn recovery_action_154(message: &str) -> Option<XidAction> {
    let lower = message.to_ascii_lowercase();
    let target = &lower[lower.rfind(" to ")? + 4..];
    let label = target.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(l, _)| l.trim());
    let by_label = match label {
        Some("none") => Some(XidAction::None),
        Some("gpu reset required" | "drain and reset" | "drain p2p") => Some(XidAction::ResetGpu),
        Some("node reboot required") => Some(XidAction::RebootNode),
        _ => None,
    };
    by_label.or_else(|| {
        let hex = target.trim_start().strip_prefix("0x")?;
        let digits = &hex[..hex.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(hex.len())];
        match u32::from_str_radix(digits, 16).ok()? {
            0 => Some(XidAction::None),
            1 | 3 | 4 => Some(XidAction::ResetGpu),
            2 => Some(XidAction::RebootNode),
            _ => None,
        }
    })
}

/// Words in an event's message that change its code's verdict (NVIDIA's catalog decodes these
/// codes from the message, not from the number alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XidWordRule {
    /// The words, as the driver writes them (matched case-insensitively).
    pub words: &'static str,
    /// The event's severity when they appear.
    pub severity: Severity,
    /// The event's action when they appear.
    pub action: XidAction,
    /// Why, in a sentence.
    pub meaning: &'static str,
}

const NVLINK5_WORDS: &[XidWordRule] = &[
    XidWordRule {
        words: "Nonfatal",
        severity: W,
        action: NoAct,
        meaning: "the NVLink unit corrected or contained the error: logged for telemetry, no recovery; watch for repeats",
    },
    XidWordRule {
        words: "Fatal",
        severity: E,
        action: Reset,
        meaning: "the link (or the GPU) is down: stop its workloads and reset the GPU",
    },
];

const RECOVERY_154_WORDS: &[XidWordRule] = &[
    XidWordRule { words: "(None)", severity: I, action: NoAct, meaning: "the driver needs no recovery any more" },
    XidWordRule {
        words: "(Drain P2P)",
        severity: W,
        action: Reset,
        meaning: "drain peer-to-peer traffic, then reset the GPU",
    },
    XidWordRule {
        words: "(Drain and Reset)",
        severity: E,
        action: Reset,
        meaning: "drain the GPU's work, then reset it; it takes no new work until then",
    },
    XidWordRule {
        words: "(GPU Reset Required)",
        severity: E,
        action: Reset,
        meaning: "the GPU must be reset before it is used again",
    },
    XidWordRule {
        words: "(Node Reboot Required)",
        severity: E,
        action: Reboot,
        meaning: "the node must be rebooted; a GPU reset is not enough",
    },
];

/// The words that change a code's verdict, most specific first; empty for codes whose number
/// alone decides. `gpuguard explain xid N` lists them.
///
/// ```
/// let rules = gpuguard::xid::xid_word_rules(145);
/// assert_eq!(rules[0].words, "Nonfatal");
/// assert!(gpuguard::xid::xid_word_rules(48).is_empty());
/// ```
pub fn xid_word_rules(code: u32) -> &'static [XidWordRule] {
    match code {
        144..=150 => NVLINK5_WORDS,
        154 => RECOVERY_154_WORDS,
        _ => &[],
    }
}

/// One event's severity and action: its code's, unless its words change them
/// ([`xid_word_rules`]). `words` names the rule that decided, if one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XidJudgement {
    /// The event's severity.
    pub severity: Severity,
    /// The event's action.
    pub action: XidAction,
    /// The words that decided, when they changed the code's default.
    pub words: Option<&'static str>,
}

/// Judges one event from its code and its message.
///
/// ```
/// use gpuguard::xid::{XidAction, judge_xid};
/// let m = "RLW_SRC_TRACK Nonfatal XC0 i0 Link 05 (0x04084507 0x00000004)";
/// assert_eq!(judge_xid(145, m).action, XidAction::None);
/// assert_eq!(judge_xid(145, "RLW_SRC_TRACK Fatal XC0 i0 Link 05").action, XidAction::ResetGpu);
/// assert_eq!(judge_xid(48, "anything").action, XidAction::DrainAndReplace);
/// ```
pub fn judge_xid(code: u32, message: &str) -> XidJudgement {
    let info = classify_xid(code);
    let default = XidJudgement { severity: info.severity, action: info.action, words: None };
    match code {
        144..=150 => {
            // "Nonfatal" holds "fatal": test the longer word first, as whole words.
            let lower = message.to_ascii_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            let nonfatal = words.contains(&"nonfatal") || lower.contains("non-fatal");
            let rule = if nonfatal {
                Some(&NVLINK5_WORDS[0])
            } else if words.contains(&"fatal") {
                Some(&NVLINK5_WORDS[1])
            } else {
                None
            };
            rule.map_or(default, |r| XidJudgement { severity: r.severity, action: r.action, words: Some(r.words) })
        }
        154 => match recovery_action_154(message) {
            Some(action) => {
                // The words of the new action, after "to" ("from 0x0 (None) to 0x1 (…)").
                let lower = message.to_ascii_lowercase();
                let target = lower.rfind(" to ").map_or(lower.as_str(), |i| &lower[i..]);
                let rule = RECOVERY_154_WORDS.iter().find(|r| target.contains(&r.words.to_ascii_lowercase()));
                // The GPU cannot be used until the recovery it names is done (a lone 154 after a
                // GSP heartbeat loss is all the log may say): an error, except draining P2P
                // traffic or no recovery at all.
                let severity = match (rule, action) {
                    (Some(r), _) => r.severity,
                    (None, XidAction::None) => I,
                    (None, XidAction::ResetGpu | XidAction::RebootNode) => E,
                    (None, _) => W,
                };
                XidJudgement { severity, action, words: rule.map(|r| r.words) }
            }
            None => default,
        },
        _ => default,
    }
}

/// Every documented code, sorted.
///
/// ```
/// assert!(gpuguard::xid::known_xids().iter().any(|x| x.code == 154));
/// ```
pub fn known_xids() -> &'static [XidInfo] {
    XIDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorted_unique() {
        assert!(XIDS.windows(2).all(|w| w[0].code < w[1].code));
        assert!(UNUSED.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(UNUSED.iter().all(|u| XIDS.binary_search_by_key(&u.0, |x| x.code).is_err()));
    }

    #[test]
    fn every_code_nvidia_lists_is_named() {
        // NVIDIA's catalog runs 1..=172 with no gaps: each is described or named as unused.
        for code in 1..=172 {
            let x = classify_xid(code);
            assert!(!x.mnemonic.is_empty(), "XID {code} has no mnemonic");
            assert_eq!(x.known, UNUSED.iter().all(|u| u.0 != code), "XID {code}");
        }
        assert!(classify_xid(173).mnemonic.is_empty() && !classify_xid(173).known);
    }

    /// Our action follows NVIDIA's immediate-action bucket, except where a listed reason says why
    /// an operator is better served otherwise.
    #[test]
    fn actions_follow_nvidia_buckets() {
        use XidAction as A;
        // (code, why we differ from NVIDIA's immediate bucket)
        let exceptions: &[(u32, &str)] = &[
            (43, "IGNORE for the GPU, but the application died and must be restarted"),
            (63, "IGNORE for the GPU's health; the driver's message asks for a reset to activate the remap"),
            (64, "RESET_GPU now, but a failed remap means the memory cannot heal: replace"),
            (108, "IGNORE for the GPU; handled like 137, an application bug to restart and debug"),
            (110, "RESET_GPU, but NVIDIA's text asks for a cold reset of the system"),
            (121, "IGNORE now; NVIDIA's text asks for a GPU reset at the next service window"),
            (137, "IGNORE for the GPU; the application faulted (XID_137_FLOW) and must be debugged"),
        ];
        for x in XIDS.iter().filter(|x| !exceptions.iter().any(|e| e.0 == x.code)) {
            let allowed: &[A] = match x.nvidia_action {
                Some("RESTART_APP") => &[A::RestartApp],
                Some("RESET_GPU") => &[A::ResetGpu],
                Some("RESTART_BM" | "RESTART_VM") => &[A::RebootNode],
                // Nothing to recover; report when it comes back.
                Some("IGNORE" | "CONTACT_SUPPORT" | "UPDATE_SWFW") => &[A::None, A::Investigate],
                Some("CHECK_MECHANICALS") => &[A::DrainAndReplace],
                Some("CHECK_UVM" | "XID_154" | "WORKFLOW_NVLINK_ERR" | "WORKFLOW_NVLINK5_ERR") => &[A::ResetGpu],
                Some("WORKFLOW_XID_45") => &[A::None],
                Some("WORKFLOW_XID_48") => &[A::DrainAndReplace],
                Some(other) => panic!("XID {}: unmapped NVIDIA bucket {other}", x.code),
                None => continue,
            };
            assert!(
                allowed.contains(&x.action),
                "XID {} {:?}: action {:?} vs NVIDIA {:?}",
                x.code,
                x.name,
                x.action,
                x.nvidia_action
            );
        }
    }

    #[test]
    fn issue_codes_present() {
        let mut need = vec![
            13, 31, 32, 38, 43, 44, 45, 48, 61, 62, 63, 64, 68, 69, 74, 79, 92, 94, 95, 109, 119, 120, 121, 140, 143,
        ];
        need.extend(144..=172);
        for c in need {
            assert!(classify_xid(c).known, "XID {c} missing");
        }
    }

    #[test]
    fn agrees_with_known_guidance() {
        assert_eq!(classify_xid(48).action, XidAction::DrainAndReplace);
        // A successful remap heals the GPU; it needs a reset to take effect, not a replacement.
        assert_eq!(classify_xid(63).action, XidAction::ResetGpu);
        assert_eq!(classify_xid(64).action, XidAction::DrainAndReplace);
        assert_eq!(classify_xid(13).category, XidCategory::Application);
        assert_eq!(classify_xid(31).category, XidCategory::Application);
        assert!(classify_xid(13).action <= XidAction::ResetGpu);
        assert_eq!(classify_xid(79).category, XidCategory::PcieBus);
        assert_eq!(classify_xid(74).category, XidCategory::Nvlink);
        assert_eq!(classify_xid(119).category, XidCategory::GspFirmware);
        assert_eq!(classify_xid(95).severity, Severity::Error);
        assert_eq!(classify_xid(45).severity, Severity::Info);
        let u = classify_xid(5);
        assert!(!u.known && u.category == XidCategory::Unknown);
    }
}
