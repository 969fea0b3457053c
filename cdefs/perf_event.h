/* Subset of the Linux kernel uapi <linux/perf_event.h>, kernel 6.18
 * (include/uapi/linux/perf_event.h, SPDX: GPL-2.0 WITH Linux-syscall-note),
 * with the kernel's own names. Read by cffi's cdef parser and by the C
 * compiler alike (after bpf.h, whose __u8/__u32/__u64 it uses), so it stays
 * plain C: the ioctl numbers are written out as the values of the kernel's
 * _IO/_IOR/_IOW/_IOWR expressions, and events.c checks each against
 * <linux/ioctl.h> at compile time, together with the struct sizes.
 */

typedef unsigned short __u16;
typedef long long __s64;

enum perf_type_id {
	PERF_TYPE_HARDWARE = 0,
	PERF_TYPE_SOFTWARE = 1,
	PERF_TYPE_TRACEPOINT = 2,
	PERF_TYPE_HW_CACHE = 3,
	PERF_TYPE_RAW = 4,
	PERF_TYPE_BREAKPOINT = 5,
};

enum perf_sw_ids {
	PERF_COUNT_SW_CPU_CLOCK = 0,
	PERF_COUNT_SW_TASK_CLOCK = 1,
	PERF_COUNT_SW_PAGE_FAULTS = 2,
	PERF_COUNT_SW_CONTEXT_SWITCHES = 3,
	PERF_COUNT_SW_CPU_MIGRATIONS = 4,
	PERF_COUNT_SW_PAGE_FAULTS_MIN = 5,
	PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6,
	PERF_COUNT_SW_ALIGNMENT_FAULTS = 7,
	PERF_COUNT_SW_EMULATION_FAULTS = 8,
	PERF_COUNT_SW_DUMMY = 9,
	PERF_COUNT_SW_BPF_OUTPUT = 10,
	PERF_COUNT_SW_CGROUP_SWITCHES = 11,
};

enum perf_event_sample_format {
	PERF_SAMPLE_IP = 1,
	PERF_SAMPLE_TID = 2,
	PERF_SAMPLE_TIME = 4,
	PERF_SAMPLE_ADDR = 8,
	PERF_SAMPLE_READ = 16,
	PERF_SAMPLE_CALLCHAIN = 32,
	PERF_SAMPLE_ID = 64,
	PERF_SAMPLE_CPU = 128,
	PERF_SAMPLE_PERIOD = 256,
	PERF_SAMPLE_STREAM_ID = 512,
	PERF_SAMPLE_RAW = 1024,
};

enum perf_event_type {
	PERF_RECORD_MMAP = 1,
	PERF_RECORD_LOST = 2,
	PERF_RECORD_COMM = 3,
	PERF_RECORD_EXIT = 4,
	PERF_RECORD_THROTTLE = 5,
	PERF_RECORD_UNTHROTTLE = 6,
	PERF_RECORD_FORK = 7,
	PERF_RECORD_READ = 8,
	PERF_RECORD_SAMPLE = 9,
	PERF_RECORD_LOST_SAMPLES = 13,
};

/* Sizes of struct perf_event_attr as the kernel's versions grew it. */
#define PERF_ATTR_SIZE_VER0 64
#define PERF_ATTR_SIZE_VER5 112
#define PERF_ATTR_SIZE_VER8 136

/* The anonymous unions keep every kernel name of a shared slot (config1 is
 * kprobe_func for perf_kprobe and uprobe_path for perf_uprobe; config2 is
 * probe_offset). The aux_action union (aux_start_paused, aux_pause,
 * aux_resume bits) is written as its __u32 member. */
struct perf_event_attr {
	__u32 type;
	__u32 size;
	__u64 config;
	union {
		__u64 sample_period;
		__u64 sample_freq;
	};
	__u64 sample_type;
	__u64 read_format;
	__u64 disabled : 1,
	      inherit : 1,
	      pinned : 1,
	      exclusive : 1,
	      exclude_user : 1,
	      exclude_kernel : 1,
	      exclude_hv : 1,
	      exclude_idle : 1,
	      mmap : 1,
	      comm : 1,
	      freq : 1,
	      inherit_stat : 1,
	      enable_on_exec : 1,
	      task : 1,
	      watermark : 1,
	      precise_ip : 2,
	      mmap_data : 1,
	      sample_id_all : 1,
	      exclude_host : 1,
	      exclude_guest : 1,
	      exclude_callchain_kernel : 1,
	      exclude_callchain_user : 1,
	      mmap2 : 1,
	      comm_exec : 1,
	      use_clockid : 1,
	      context_switch : 1,
	      write_backward : 1,
	      namespaces : 1,
	      ksymbol : 1,
	      bpf_event : 1,
	      aux_output : 1,
	      cgroup : 1,
	      text_poke : 1,
	      build_id : 1,
	      inherit_thread : 1,
	      remove_on_exec : 1,
	      sigtrap : 1,
	      __reserved_1 : 26;
	union {
		__u32 wakeup_events;
		__u32 wakeup_watermark;
	};
	__u32 bp_type;
	union {
		__u64 bp_addr;
		__u64 kprobe_func;
		__u64 uprobe_path;
		__u64 config1;
	};
	union {
		__u64 bp_len;
		__u64 kprobe_addr;
		__u64 probe_offset;
		__u64 config2;
	};
	__u64 branch_sample_type;
	__u64 sample_regs_user;
	__u32 sample_stack_user;
	__s32 clockid;
	__u64 sample_regs_intr;
	__u32 aux_watermark;
	__u16 sample_max_stack;
	__u16 __reserved_2;
	__u32 aux_sample_size;
	__u32 aux_action;
	__u64 sig_data;
	__u64 config3;
};

/* PERF_EVENT_IOC_QUERY_BPF's argument; ids[] follows it in memory. */
struct perf_event_query_bpf {
	__u32 ids_len;
	__u32 prog_cnt;
};

/* The first page of a perf event's mapping. Only the ring buffer control
 * words are declared by name; the layout before them is the kernel's 1024
 * bytes (self-monitoring fields, then __reserved padding to 1 KiB). */
struct perf_event_mmap_page {
	__u32 version;
	__u32 compat_version;
	__u32 lock;
	__u32 index;
	__s64 offset;
	__u64 time_enabled;
	__u64 time_running;
	__u64 capabilities;
	__u16 pmc_width;
	__u16 time_shift;
	__u32 time_mult;
	__u64 time_offset;
	__u64 time_zero;
	__u32 size;
	__u32 __reserved_1;
	__u64 time_cycles;
	__u64 time_mask;
	__u8 __reserved[928];
	__u64 data_head;
	__u64 data_tail;
	__u64 data_offset;
	__u64 data_size;
	__u64 aux_head;
	__u64 aux_tail;
	__u64 aux_offset;
	__u64 aux_size;
};

struct perf_event_header {
	__u32 type;
	__u16 misc;
	__u16 size;
};

/* Ioctls on a perf event descriptor ('$' is 0x24). */
#define PERF_EVENT_IOC_ENABLE 9216
#define PERF_EVENT_IOC_DISABLE 9217
#define PERF_EVENT_IOC_REFRESH 9218
#define PERF_EVENT_IOC_RESET 9219
#define PERF_EVENT_IOC_PERIOD 1074275332
#define PERF_EVENT_IOC_SET_OUTPUT 9221
#define PERF_EVENT_IOC_SET_FILTER 1074275334
#define PERF_EVENT_IOC_ID 2148017159
#define PERF_EVENT_IOC_SET_BPF 1074013192
#define PERF_EVENT_IOC_PAUSE_OUTPUT 1074013193
#define PERF_EVENT_IOC_QUERY_BPF 3221758986
#define PERF_EVENT_IOC_MODIFY_ATTRIBUTES 1074275339

#define PERF_FLAG_FD_NO_GROUP 1
#define PERF_FLAG_FD_OUTPUT 2
#define PERF_FLAG_PID_CGROUP 4
#define PERF_FLAG_FD_CLOEXEC 8
