package dev.deepgemm4j.spark;

import com.codahale.metrics.Gauge;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Starts one {@link DeepGemmRuntime} per executor when the executor starts, instead of at its first task. Enable
 * with {@code spark.plugins=dev.deepgemm4j.spark.DeepGemmPlugin}.
 *
 * <ul>
 *   <li>The executor side picks the device from the executor's {@code gpu} resources (or
 *       {@link DeepGemmConf#DEVICE}), registers the runtime's gauges ({@code deepgemm4j.initializations},
 *       {@code deepgemm4j.weightLoads}) with Spark's metrics system, and reports the runtime's one-time events
 *       (start, weight loads) to the driver.</li>
 *   <li>The driver side collects those events: {@link #events()} tells which executor initialised on which device
 *       and loaded which weights, and how often.</li>
 * </ul>
 */
public final class DeepGemmPlugin implements SparkPlugin {

    private static final List<RuntimeEvent> EVENTS = new CopyOnWriteArrayList<>();

    /** The runtime events received by this driver JVM so far, in arrival order. */
    public static List<RuntimeEvent> events() {
        return List.copyOf(EVENTS);
    }

    /** Forgets the events received so far. */
    public static void clearEvents() {
        EVENTS.clear();
    }

    @Override
    public DriverPlugin driverPlugin() {
        return new DriverPlugin() {
            @Override
            public Map<String, String> init(SparkContext sc, PluginContext ctx) {
                return Map.of();
            }

            @Override
            public Object receive(Object message) {
                if (message instanceof RuntimeEvent event) {
                    EVENTS.add(event);
                }
                return null;
            }
        };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                DeepGemmRuntime runtime = DeepGemmRuntime.initialize(DeepGemmConf.from(ctx.conf()),
                        DeepGemmRuntime.gpuAddresses(ctx.resources()), event -> send(ctx, event));
                ctx.metricRegistry().register("deepgemm4j.initializations",
                        (Gauge<Integer>) DeepGemmRuntime::initializations);
                ctx.metricRegistry().register("deepgemm4j.weightLoads", (Gauge<Long>) runtime::weightLoads);
            }

            @Override
            public void shutdown() {
                DeepGemmRuntime.shutdown();
            }
        };
    }

    private static void send(PluginContext ctx, RuntimeEvent event) {
        try {
            ctx.send(event);
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach the driver", e);
        }
    }
}
