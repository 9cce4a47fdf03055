package dev.deepgemm4j.spark;

import java.io.Serializable;

/**
 * Something an executor's {@link DeepGemmRuntime} did once, reported to the driver when {@link DeepGemmPlugin} is
 * configured ({@link DeepGemmPlugin#events()}).
 *
 * @param executorId the executor ("driver" in local mode)
 * @param pid the executor JVM's process id
 * @param kind what happened
 * @param detail the device for {@link Kind#INIT}, the weight key for {@link Kind#WEIGHT_LOAD}
 * @param count this JVM's count of such events so far, including this one
 */
public record RuntimeEvent(String executorId, long pid, Kind kind, String detail, long count)
        implements Serializable {

    /** Event kinds. */
    public enum Kind {
        /** The runtime started (device chosen). */
        INIT,
        /** A weight file was loaded onto the device. */
        WEIGHT_LOAD
    }
}
