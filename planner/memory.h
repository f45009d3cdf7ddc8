#pragma once

// How the process allocates large blocks.
//
// glibc's malloc serves each block above a threshold (128 KiB, rising to at most 32 MiB) with its
// own mmap and unmaps it when freed, and hands the heap's free top back to the system past 128 KiB.
// Every page such a block touches is then touched afresh: a page fault per 4 KiB, which on a
// virtual machine costs microseconds each. Planning a million tensors allocates and frees tables
// of tens of MiB stage after stage (tree, sizes, plan, validation); on the 2-core VM this project
// is built on, page faults took 80% of plan() at that size (1.5 s of 1.8 s).

namespace mizan {

// Keeps freed memory in the process for the next allocation: blocks up to 1 GiB come from the
// heap, and the heap's free top is handed back only past 1 GiB. Memory is then touched once per
// process, not once per table. Call it at the start of a process that plans or validates; it
// changes how later allocations are served, not what they return. Returns false where the C
// library has no such settings (not glibc), and changes nothing there.
//
// Not called by the processes that run models: they allocate weights of hundreds of MiB in turn,
// and those are better handed back when freed than kept in a heap they would fragment.
bool keepFreedMemory();

} // namespace mizan
