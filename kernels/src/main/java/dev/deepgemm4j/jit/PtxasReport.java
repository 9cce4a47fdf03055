package dev.deepgemm4j.jit;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What ptxas reported with {@code -v} (and {@code --warn-on-local-memory-usage} / {@code --warn-on-spills}), summed
 * over the entry functions of one compile.
 *
 * @param found whether the log contained a ptxas report at all
 * @param maxRegisters the most registers any function uses (-1 if not reported)
 * @param stackFrameBytes the largest stack frame
 * @param spillStoreBytes spill stores, summed
 * @param spillLoadBytes spill loads, summed
 * @param localMemoryWarning whether ptxas warned about local memory or spills
 */
public record PtxasReport(boolean found, int maxRegisters, int stackFrameBytes, int spillStoreBytes,
        int spillLoadBytes, boolean localMemoryWarning) {

    private static final Pattern PROPERTIES =
            Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern REGISTERS = Pattern.compile("Used (\\d+) registers");
    private static final Pattern WARNING =
            Pattern.compile("ptxas warning : (Local memory used|Registers are spilled)");

    /** Parses a compiler log. */
    public static PtxasReport parse(String log) {
        boolean found = false;
        int regs = -1;
        int stack = 0;
        int stores = 0;
        int loads = 0;
        Matcher m = PROPERTIES.matcher(log);
        while (m.find()) {
            found = true;
            stack = Math.max(stack, Integer.parseInt(m.group(1)));
            stores += Integer.parseInt(m.group(2));
            loads += Integer.parseInt(m.group(3));
        }
        m = REGISTERS.matcher(log);
        while (m.find()) {
            found = true;
            regs = Math.max(regs, Integer.parseInt(m.group(1)));
        }
        return new PtxasReport(found, regs, stack, stores, loads, WARNING.matcher(log).find());
    }

    /** Whether the kernel spills or uses local memory: what DG_JIT_PTXAS_CHECK rejects. */
    public boolean usesLocalMemory() {
        return spillStoreBytes > 0 || spillLoadBytes > 0 || localMemoryWarning;
    }
}
