package dev.deepgemm4j.it.djl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepgemm4j.djl.DeepGemmEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's "Using it from DJL" section must keep matching {@link MoeExample}. */
class ReadmeDjlSectionTest {

    private static final Path ROOT = Path.of(System.getProperty("deepgemm4j.root", "..")).toAbsolutePath()
            .normalize();

    private static String section() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher m = Pattern.compile("(?ms)^## Using it from DJL\\n(.*?)(?=^## )").matcher(readme);
        assertTrue(m.find(), "README.md has no \"## Using it from DJL\" section");
        return m.group(1);
    }

    @Test
    void codeUsesTheExamplesModelAndNames() throws IOException {
        String text = section();
        Matcher code = Pattern.compile("(?ms)^```java\\n(.*?)^```").matcher(text);
        assertTrue(code.find(), "the section has no java block");
        String java = code.group(1);
        for (String expected : new String[] {"setNumExperts(" + MoeExample.EXPERTS + ")",
            "setTopK(" + MoeExample.TOP_K + ")", "setIntermediateSize(" + MoeExample.INNER + ")",
            "setUnits(" + MoeExample.CLASSES + ")", "new Shape(1, " + MoeExample.HIDDEN + ")",
            "new MoeExample.TokenScorer()", "DeepGemmEngine.ENGINE_NAME", "model.newPredictor("}) {
            assertTrue(java.contains(expected), "README's DJL example lacks " + expected);
        }
    }

    @Test
    void namesTheEngineAndAnExistingExampleFile() throws IOException {
        String text = section();
        assertTrue(text.contains("`" + DeepGemmEngine.ENGINE_NAME + "`"));
        assertTrue(text.contains("rank is " + DeepGemmEngine.RANK));
        assertTrue(text.contains(DeepGemmEngine.DISABLE_ALTERNATIVE_PROPERTY));
        Matcher file = Pattern.compile("`(it/src/main/java/\\S+\\.java)`").matcher(text);
        assertTrue(file.find(), "the section names no example file");
        assertTrue(Files.isRegularFile(ROOT.resolve(file.group(1))), file.group(1));
    }
}
