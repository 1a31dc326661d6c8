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
            XidAction::RestartApp => "Restart the application; if it recurs, debug it (compute-sanitizer, cuda-gdb) before blaming the GPU.",
            XidAction::Investigate => "Collect nvidia-bug-report.sh and the surrounding log; contact NVIDIA support if it recurs.",
            XidAction::ResetGpu => "Stop the GPU's workloads and reset it (nvidia-smi -r -i <gpu>) or reboot; drain the node if it recurs.",
            XidAction::RebootNode => "Drain the node and reboot it; the GPU cannot be recovered in place.",
            XidAction::DrainAndReplace => "Drain the node, run field diagnostics (dcgmi diag -r 3) and have the GPU replaced if it repeats.",
        }
    }
}

/// What one XID code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XidInfo {
    /// The XID number.
    pub code: u32,
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
    /// False for codes NVIDIA does not document (or lists as unused): reported, never dropped.
    pub known: bool,
}

use Severity::{Error as E, Info as I, Warning as W};
use XidAction::{
    DrainAndReplace as Replace, Investigate as Inv, None as NoAct, RebootNode as Reboot,
    ResetGpu as Reset, RestartApp as Restart,
};
use XidCategory::{
    Application as App, Display as Disp, Driver as Drv, GspFirmware as Gsp, Hardware as Hw,
    MemoryEcc as Mem, Nvlink as Nvl, PcieBus as Pcie, ThermalPower as Pwr, Unknown as Unk,
};

const PUSHBUF: &str = "The GPU rejected a command stream: usually the application or driver, sometimes memory corruption or the bus.";
const VIDEO: &str = "A video encode/decode or JPEG engine raised an exception; compute jobs are rarely affected.";
const COPY: &str = "A copy engine raised an error; usually driven by the application, rarely the hardware.";
const DISPLAY: &str = "The display engine reported an error; it does not affect compute work.";
const NVLINK_BLOCK: &str = "An NVLink block reported an internal error; the link is down or degraded and peer-to-peer traffic over it fails.";
const SPI: &str = "The driver could not talk to the board's SPI flash / InfoROM through the PMU.";

macro_rules! x {
    ($code:expr, $name:expr, $meaning:expr, $cat:expr, $sev:expr, $act:expr) => {
        XidInfo { code: $code, name: $name, meaning: $meaning, category: $cat, severity: $sev, action: $act, known: true }
    };
}

/// The table, sorted by code (a test checks it) so lookup is a binary search.
static XIDS: &[XidInfo] = &[
    x!(1, "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(2, "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(3, "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(4, "Invalid or corrupted push buffer stream / GPU semaphore timeout", PUSHBUF, Drv, W, Restart),
    x!(6, "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(7, "Invalid or corrupted push buffer address", PUSHBUF, Drv, W, Restart),
    x!(8, "GPU stopped processing", "A channel stopped making progress (a hung kernel or a driver/hardware fault); the job is killed.", Drv, E, Restart),
    x!(9, "Driver error programming GPU", "The driver programmed the GPU wrongly.", Drv, W, Inv),
    x!(11, "Invalid or corrupted push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(12, "Driver error handling GPU exception", "The driver failed while handling a GPU exception.", Drv, W, Inv),
    x!(13, "Graphics engine exception", "A kernel faulted on the GPU: out-of-bounds access, illegal instruction or register. Usually the application (or a driver bug); the GPU is normally healthy and a restart (or reset) clears it.", App, W, Restart),
    x!(16, "Display engine hung", DISPLAY, Disp, I, NoAct),
    x!(18, "Bus mastering disabled in PCI config space", "The GPU lost bus mastering in PCI config space; the device cannot DMA.", Pcie, E, Reboot),
    x!(19, "Display engine error", DISPLAY, Disp, I, NoAct),
    x!(20, "Invalid or corrupted MPEG push buffer", VIDEO, Drv, W, Restart),
    x!(21, "Invalid or corrupted motion estimation push buffer", VIDEO, Drv, W, Restart),
    x!(22, "Invalid or corrupted video processor push buffer", VIDEO, Drv, W, Restart),
    x!(24, "GPU semaphore timeout", "A GPU semaphore wait timed out: application, driver, or thermal/power trouble.", Drv, W, Restart),
    x!(25, "Invalid or illegal push buffer stream", PUSHBUF, Drv, W, Restart),
    x!(26, "Framebuffer timeout", "An access to GPU memory timed out.", Hw, E, Reset),
    x!(27, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(28, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(29, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(30, "GPU semaphore access error", "A semaphore access failed.", Drv, W, Restart),
    x!(31, "GPU memory page fault", "The MMU reported an illegal address access (an invalid pointer). Usually an application bug, occasionally the driver or hardware; a restart (or reset) clears it.", App, W, Restart),
    x!(32, "Invalid or corrupted push buffer stream (PBDMA)", "The DMA engine that fetches commands over PCIe reported a fault: mostly PCIe signal quality or a bad riser, rarely the application.", Pcie, E, Reset),
    x!(33, "Internal micro-controller error", "An on-GPU micro-controller reported an error.", Drv, W, Inv),
    x!(34, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(35, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(36, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(37, "Driver firmware error", "Firmware loaded by the driver failed.", Drv, W, Reset),
    x!(38, "Driver firmware error", "Firmware loaded by the driver reported an error; a driver or firmware problem.", Drv, E, Reset),
    x!(42, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(43, "GPU stopped processing (reset channel verification error)", "The application hit a software-induced fault and was stopped; the GPU stays healthy.", App, W, Restart),
    x!(44, "Graphics engine fault during context switch", "A fault during a context switch; the GPU needs a reset.", Drv, E, Reset),
    x!(45, "Preemptive cleanup, due to previous errors", "The driver tore down a process's GPU work: Ctrl-C, kill, a GPU reset, or a previous error (most often after another XID). A follow-on event.", App, I, NoAct),
    x!(46, "GPU stopped processing", "The GPU stopped processing work.", Drv, E, Reset),
    x!(47, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(48, "Double-bit ECC error (DBE)", "An uncorrectable double-bit ECC error in GPU memory: results may be corrupt. Hardware failure; a reset retires/remaps the bad memory, and repeats mean the GPU must be replaced.", Mem, E, Replace),
    x!(54, "Auxiliary power is not connected to the GPU board", "The board's auxiliary power cable is missing or failed.", Pwr, E, Replace),
    x!(56, "Display engine error", DISPLAY, Disp, I, NoAct),
    x!(57, "Error programming video memory interface", "The memory interface could not be programmed: a hardware or driver problem.", Hw, E, Reset),
    x!(58, "Unstable video memory interface detected", "The memory interface is unstable (EDC errors): hardware.", Hw, E, Replace),
    x!(59, "Internal micro-controller error (older drivers)", "An on-GPU micro-controller failed.", Hw, E, Reset),
    x!(60, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(61, "Internal micro-controller breakpoint/warning", "The PMU micro-controller hit a breakpoint or warning; often precedes a hang.", Hw, E, Reset),
    x!(62, "Internal micro-controller halt", "The PMU micro-controller halted; the GPU must be reset and may need replacing if it repeats.", Hw, E, Reset),
    x!(63, "ECC page retirement or row remapping recorded", "A memory page was retired or a row remapped after ECC errors. Hardware memory failure: reset the GPU to apply it, and replace the GPU when it keeps happening.", Mem, E, Replace),
    x!(64, "ECC page retirement or row remapping failure", "The GPU could not record a page retirement or row remap: the memory is failing and cannot heal itself. Replace the GPU.", Mem, E, Replace),
    x!(65, "Video processor exception", VIDEO, Drv, W, Restart),
    x!(66, "Illegal access by driver", "The driver made an illegal access.", Drv, W, Inv),
    x!(67, "Illegal access by driver", "The driver made an illegal access.", Drv, W, Inv),
    x!(68, "NVDEC0 exception", VIDEO, Hw, W, Restart),
    x!(69, "Graphics engine class error", "The graphics engine rejected a class/method: usually the application or driver.", Drv, W, Restart),
    x!(70, "CE3: unknown error", COPY, Drv, W, Restart),
    x!(71, "CE4: unknown error", COPY, Drv, W, Restart),
    x!(72, "CE5: unknown error", COPY, Drv, W, Restart),
    x!(73, "NVENC2 error", VIDEO, Drv, W, Restart),
    x!(74, "NVLink error", "An NVLink link between GPUs or to an NVSwitch failed. The link or the device at its far end is at fault (a failed peer makes its neighbours log 74 too). Reset the GPUs; replace hardware if it repeats.", Nvl, E, Reset),
    x!(75, "CE6: unknown error", COPY, Drv, W, Restart),
    x!(76, "CE7: unknown error", COPY, Drv, W, Restart),
    x!(77, "CE8: unknown error", COPY, Drv, W, Restart),
    x!(78, "vGPU start error", "A virtual GPU failed to start.", Drv, W, Inv),
    x!(79, "GPU has fallen off the bus", "The GPU stopped answering on PCIe: hardware, power, thermal or a bad slot/riser. Every job on it is lost; the node must be rebooted and the GPU checked or replaced.", Pcie, E, Reboot),
    x!(80, "Corrupted data sent to GPU", "Data arrived corrupted over the bus.", Pcie, E, Reset),
    x!(81, "VGA subsystem error", DISPLAY, Disp, W, Reset),
    x!(82, "NVJPG0 error", VIDEO, Drv, W, Restart),
    x!(83, "NVDEC1 error", VIDEO, Drv, W, Restart),
    x!(84, "NVDEC2 error", VIDEO, Drv, W, Restart),
    x!(85, "CE9: unknown error", COPY, Drv, W, Restart),
    x!(86, "OFA exception", VIDEO, Drv, W, Restart),
    x!(88, "NVDEC3 error", VIDEO, Drv, W, Restart),
    x!(89, "NVDEC4 error", VIDEO, Drv, W, Restart),
    x!(92, "High single-bit ECC error rate", "Corrected (single-bit) ECC errors are arriving fast: the leading sign of an uncorrectable failure. Watch it and plan a replacement.", Mem, W, Reset),
    x!(93, "Non-fatal violation of provisioned InfoROM wear limit", "The InfoROM has been written more than its provisioned limit.", Hw, W, Inv),
    x!(94, "Contained ECC error", "An uncorrectable ECC error was contained to the applications that touched the memory; they must restart, other work continues. Reset the GPU to remap the row soon.", Mem, E, Reset),
    x!(95, "Uncontained ECC error", "An uncorrectable ECC error could not be contained: every application on the GPU is affected and the GPU must be reset before reuse.", Mem, E, Reset),
    x!(96, "NVDEC5 error", VIDEO, Drv, W, Restart),
    x!(97, "NVDEC6 error", VIDEO, Drv, W, Restart),
    x!(98, "NVDEC7 error", VIDEO, Drv, W, Restart),
    x!(99, "NVJPG1 error", VIDEO, Drv, W, Restart),
    x!(100, "NVJPG2 error", VIDEO, Drv, W, Restart),
    x!(101, "NVJPG3 error", VIDEO, Drv, W, Restart),
    x!(102, "NVJPG4 error", VIDEO, Drv, W, Restart),
    x!(103, "NVJPG5 error", VIDEO, Drv, W, Restart),
    x!(104, "NVJPG6 error", VIDEO, Drv, W, Restart),
    x!(105, "NVJPG7 error", VIDEO, Drv, W, Restart),
    x!(106, "SMBPBI test message", "A test message sent through the out-of-band management interface.", Drv, I, NoAct),
    x!(107, "SMBPBI test message (silent)", "A silent test message sent through the out-of-band management interface.", Drv, I, NoAct),
    x!(109, "Context switch timeout", "A context switch did not finish in time: an application that does not yield, a driver or a hardware problem.", Drv, E, Reset),
    x!(110, "Security fault", "The GPU's security processor reported a fault: hardware.", Hw, E, Replace),
    x!(111, "Display bundle error event", DISPLAY, Disp, I, NoAct),
    x!(112, "Display supervisor error", DISPLAY, Disp, I, NoAct),
    x!(113, "DisplayPort link training error", DISPLAY, Disp, I, NoAct),
    x!(114, "Display pipeline underflow", DISPLAY, Disp, I, NoAct),
    x!(115, "Display core channel error", DISPLAY, Disp, I, NoAct),
    x!(116, "Display window channel error", DISPLAY, Disp, I, NoAct),
    x!(117, "Display cursor channel error", DISPLAY, Disp, I, NoAct),
    x!(118, "Display pixel pipeline error", DISPLAY, Disp, I, NoAct),
    x!(119, "GSP RPC timeout", "The driver timed out waiting for the GPU System Processor firmware. The GPU is unusable until reset; recurring ones point at the driver/firmware.", Gsp, E, Reset),
    x!(120, "GSP error", "The GPU System Processor firmware reported an error; reset the GPU (reboot if the reset fails).", Gsp, E, Reset),
    x!(121, "C2C link error", "The chip-to-chip link (Grace Hopper/Blackwell CPU-GPU) reported an error.", Nvl, E, Reset),
    x!(122, "SPI PMU RPC read failure", SPI, Hw, W, Inv),
    x!(123, "SPI PMU RPC write failure", SPI, Hw, W, Inv),
    x!(124, "SPI PMU RPC erase failure", SPI, Hw, W, Inv),
    x!(125, "InfoROM filesystem failure", "The InfoROM's filesystem could not be read or written.", Hw, W, Inv),
    x!(137, "NVLink FLA privilege error", "A fabric-linear-address access over NVLink was refused: usually an application or configuration problem.", Nvl, W, Restart),
    x!(140, "Unrecovered ECC error", "An ECC error the GPU could not recover from (typically found at boot or after a failed remap): the GPU needs a reset and likely a replacement.", Mem, E, Replace),
    x!(143, "GPU initialization failure", "The GPU failed to initialise: reboot, and replace it if it keeps failing.", Hw, E, Reboot),
    x!(144, "NVLink SAW error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(145, "NVLink RLW error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(146, "NVLink TLW error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(147, "NVLink TREX error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(148, "NVLink NVLPW_CTRL error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(149, "NVLink NETIR error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(150, "NVLink MSE error", NVLINK_BLOCK, Nvl, E, Reset),
    x!(151, "Key rotation error", "Confidential-computing key rotation failed.", Drv, E, Reset),
    x!(154, "GPU recovery action changed", "The driver states which recovery the GPU now needs (none, GPU reset, node reboot, drain P2P); the text after the code names it. It follows the error that caused it.", Drv, W, Reset),
    x!(155, "NVLink software-defined error", "The driver shut an NVLink link down on purpose after errors.", Nvl, E, Reset),
    x!(156, "Resource retirement event", "The GPU retired a resource (memory row, channel) after errors; reset to apply.", Mem, W, Reset),
    x!(157, "Resource retirement failure", "The GPU could not retire a failing resource: hardware, replace it.", Mem, E, Replace),
    x!(158, "GPU fatal timeout", "A fatal timeout inside the GPU; it needs a reset.", Hw, E, Reset),
    x!(159, "CHI non-data error", "The coherent hub interface between CPU and GPU reported an error.", Nvl, E, Reboot),
    x!(160, "Channel retirement event", "A GPU channel was retired after errors.", Hw, W, Reset),
    x!(161, "Channel retirement failure", "The GPU could not retire a failing channel.", Hw, E, Replace),
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
        Err(_) => XidInfo {
            code,
            name: "Unknown XID",
            meaning: "NVIDIA does not document this code (or lists it as unused/reserved); treat it as a fault to investigate.",
            category: Unk,
            severity: W,
            action: Inv,
            known: false,
        },
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
    }

    #[test]
    fn issue_codes_present() {
        let mut need = vec![13, 31, 32, 38, 43, 44, 45, 48, 61, 62, 63, 64, 68, 69, 74, 79, 92, 94, 95, 109, 119, 120, 121, 140, 143, 154, 155];
        need.extend(144..=150);
        for c in need {
            assert!(classify_xid(c).known, "XID {c} missing");
        }
    }

    #[test]
    fn agrees_with_known_guidance() {
        assert_eq!(classify_xid(48).action, XidAction::DrainAndReplace);
        assert_eq!(classify_xid(63).action, XidAction::DrainAndReplace);
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
